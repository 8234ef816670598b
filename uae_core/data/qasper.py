"""The QASPER layout (allenai's qasper-*-v0.3.json): papers with full text and annotated questions.

`{paper_id: {title, abstract, full_text: [{section_name, paragraphs}], qas: [{question, question_id,
answers: [{answer: {...}}]}]}}`. One passage per non-empty paragraph (id `paper::section::paragraph`,
deduplicated within a paper); the reference answer is free-form, else the extractive spans joined, else
Yes/No; unanswerable annotations are skipped; gold evidence = paragraphs equal to an annotator's evidence.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from uae_core.data.schema import Corpus, DataFormatError, LoadOptions, LoadReport, Passage, Query
from uae_core.data.splits import split_for_document

FLOAT_SELECTED = "FLOAT SELECTED"


def read_qasper_json(path: str | Path) -> dict[str, Any]:
    """Parse the file and check the top-level shape; errors name the file."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    try:
        with open(path, encoding="utf-8") as fh:
            raw = json.load(fh, object_pairs_hook=_no_duplicate_papers)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DataFormatError(path, None, None, f"not valid JSON ({exc})") from None
    except _DuplicateKey as exc:
        raise DataFormatError(path, None, exc.key, "this key appears twice in one JSON object (a paper id twice? "
                              "JSON would keep only the last one; rename or remove one)") from None
    if not isinstance(raw, dict):
        raise DataFormatError(path, None, None,
                                f"top level must be an object of paper_id -> paper, got {type(raw).__name__}")
    return raw


class _DuplicateKey(Exception):
    def __init__(self, key: str):
        self.key = key


def _no_duplicate_papers(pairs: list[tuple[str, Any]]) -> dict:
    """json's object hook: a key twice in one object (typically a paper id) is an error, not a silent
    overwrite."""
    out: dict = {}
    for key, value in pairs:
        if key in out:
            raise _DuplicateKey(key)
        out[key] = value
    return out


def _expect(value: Any, kind: type | tuple[type, ...], path: Path, paper_id: str, field_name: str) -> Any:
    if not isinstance(value, kind):
        names = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
        raise DataFormatError(path, paper_id, field_name, f"expected {names}, got {type(value).__name__}", "paper")
    return value


def _answer_texts(answer: dict, path: Path, paper_id: str, field_name: str) -> tuple[str | None, str]:
    """Reference answer per the design: free-form, else extractive spans joined, else Yes/No."""
    _expect(answer, dict, path, paper_id, field_name)
    if answer.get("unanswerable"):
        return None, ""
    spans = _expect(answer.get("extractive_spans") or [], list, path, paper_id, f"{field_name}.extractive_spans")
    extractive = ", ".join(s.strip() for s in spans if isinstance(s, str) and s.strip())
    free_form = answer.get("free_form_answer") or ""
    _expect(free_form, str, path, paper_id, f"{field_name}.free_form_answer")
    if free_form.strip():
        return free_form.strip(), extractive
    if extractive:
        return extractive, extractive
    yes_no = answer.get("yes_no")
    if yes_no is True:
        return "Yes", ""
    if yes_no is False:
        return "No", ""
    return None, ""


def load_qasper(path: str | Path, options: LoadOptions = LoadOptions()) -> Corpus:
    """Passages (one per non-empty paragraph, deduplicated within a paper) and answerable queries."""
    path = Path(path)
    raw = read_qasper_json(path)
    report = LoadReport()
    passages: list[Passage] = []
    queries: list[Query] = []
    question_owner: dict[str, str] = {}  # question id -> its paper: ids must be unique across the file
    for paper_id, paper in raw.items():
        if not isinstance(paper, dict):
            raise DataFormatError(path, paper_id, None, f"paper must be an object, got {type(paper).__name__}", "paper")
        full_text = paper.get("full_text")
        if not full_text:
            report.skipped["papers_without_full_text"] += 1
            continue
        _expect(full_text, list, path, paper_id, "full_text")
        qas = _expect(paper.get("qas", []), list, path, paper_id, "qas")
        report.documents += 1
        by_text: dict[str, str] = {}  # paragraph text -> passage id (first occurrence wins)
        for s_idx, section in enumerate(full_text):
            _expect(section, dict, path, paper_id, f"full_text[{s_idx}]")
            paragraphs = _expect(section.get("paragraphs") or [], list, path, paper_id,
                                 f"full_text[{s_idx}].paragraphs")
            section_name = section.get("section_name") or ""
            for p_idx, text in enumerate(paragraphs):
                _expect(text, str, path, paper_id, f"full_text[{s_idx}].paragraphs[{p_idx}]")
                key = text.strip()
                if not key:
                    report.skipped["empty_paragraphs"] += 1
                    continue
                if key in by_text:
                    report.skipped["duplicate_paragraphs"] += 1
                    continue
                body = key
                if len(body) > options.max_passage_chars:
                    report.skipped["paragraphs_truncated"] += 1
                    body = body[: options.max_passage_chars]
                pid = f"{paper_id}::{s_idx}::{p_idx}"
                by_text[key] = pid
                passages.append(Passage(pid, paper_id, str(section_name), body))
                report.passages += 1
        split = split_for_document(paper_id, options)
        for q_idx, qa in enumerate(qas):
            fname = f"qas[{q_idx}]"
            _expect(qa, dict, path, paper_id, fname)
            question = _expect(qa.get("question"), str, path, paper_id, f"{fname}.question").strip()
            qid = _expect(qa.get("question_id"), str, path, paper_id, f"{fname}.question_id")
            if qid in question_owner:
                raise DataFormatError(path, paper_id, f"{fname}.question_id", f"question id {qid!r} is also used "
                                      f"by paper {question_owner[qid]!r}; question ids must be unique", "paper")
            question_owner[qid] = paper_id
            if not question:
                report.skipped["empty_questions"] += 1
                continue
            answers, extractive, gold = [], [], []
            for a_idx, wrapper in enumerate(_expect(qa.get("answers", []), list, path, paper_id,
                                                    f"{fname}.answers")):
                afield = f"{fname}.answers[{a_idx}].answer"
                _expect(wrapper, dict, path, paper_id, f"{fname}.answers[{a_idx}]")
                answer = wrapper.get("answer")
                text, ext = _answer_texts(answer, path, paper_id, afield)
                if text is None:
                    continue
                answers.append(text)
                extractive.append(ext)
                for ev in _expect(answer.get("evidence") or [], list, path, paper_id, f"{afield}.evidence"):
                    if not isinstance(ev, str) or not ev.strip():
                        continue
                    if ev.startswith(FLOAT_SELECTED):
                        report.skipped["evidence_float_selected"] += 1
                        continue
                    pid = by_text.get(ev.strip())
                    if pid is None:
                        report.skipped["evidence_unmatched"] += 1
                    elif pid not in gold:
                        gold.append(pid)
            if not answers:
                report.skipped["questions_without_usable_answer"] += 1
                continue
            queries.append(Query(qid, paper_id, question, tuple(answers), tuple(extractive), tuple(gold), split))
            report.queries += 1
            report.queries_with_gold += bool(gold)
            report.queries_with_answers += 1
    if not passages:
        raise DataFormatError(path, None, "full_text", "no paper has a non-empty paragraph")
    return Corpus(passages, queries, report)
