"""Helpers the tests share: hand-made QASPER files and where the real data lives."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SHARED_DATA = REPO.parent / "shared" / "data"
needs_shared_data = pytest.mark.skipif(not (SHARED_DATA / "qasper").is_dir(),
                                       reason=f"real data not present at {SHARED_DATA} (see its README)")


def make_paper(paragraphs: list[str], qas: list[dict], section: str = "Intro") -> dict:
    return {"title": "t", "abstract": "", "full_text": [{"section_name": section, "paragraphs": paragraphs}],
            "qas": qas}


def make_qa(qid: str, question: str, answer: dict | list[dict]) -> dict:
    answers = answer if isinstance(answer, list) else [answer]
    return {"question": question, "question_id": qid, "answers": [{"answer": a} for a in answers]}


def answer(free_form: str = "", spans: list[str] | None = None, yes_no=None, evidence: list[str] | None = None,
           unanswerable: bool = False) -> dict:
    return {"unanswerable": unanswerable, "extractive_spans": spans or [], "yes_no": yes_no,
            "free_form_answer": free_form, "evidence": evidence or [], "highlighted_evidence": []}


TOPICS = ["attention", "parsing", "translation", "speech", "sentiment", "entities", "summaries", "graphs",
          "retrieval", "dialogue", "morphology", "grammar"]


def synthetic_qasper(n_papers: int, start: int = 0) -> dict:
    """A small QASPER-layout corpus: each paper has 3 paragraphs and 2 questions with evidence."""
    papers = {}
    for i in range(start, start + n_papers):
        t = [TOPICS[(i + j) % len(TOPICS)] for j in range(3)]
        paragraphs = [f"Paper {i} studies {t[0]} with a new model of {t[0]} structure.",
                      f"Experiments in paper {i} measure {t[1]} accuracy on three benchmarks.",
                      f"Related work on {t[2]} is reviewed in paper {i}."]
        qas = [make_qa(f"p{i}-q0", f"What does paper {i} study?",
                       answer(free_form=f"{t[0]}", evidence=[paragraphs[0]])),
               make_qa(f"p{i}-q1", f"What accuracy is measured in paper {i}?",
                       answer(spans=[f"{t[1]} accuracy"], evidence=[paragraphs[1]]))]
        papers[f"paper-{i:03d}"] = make_paper(paragraphs, qas)
    return papers
