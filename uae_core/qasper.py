"""Load a QASPER-layout JSON file into passages and queries.

The QASPER v0.3 layout is `{paper_id: {title, abstract, full_text: [{section_name, paragraphs}],
qas: [{question, question_id, answers: [{answer: {...}}]}]}}`. Structural damage (not JSON, a field of the
wrong type) stops with a `QasperFormatError` naming the file, paper and field; content that is merely
unusable (an empty paragraph, an unanswerable question, evidence that matches no paragraph) is skipped and
counted in `LoadReport`, so nothing is dropped silently.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Literal, Sequence

Split = Literal["train", "dev", "test"]
FLOAT_SELECTED = "FLOAT SELECTED"


class QasperFormatError(ValueError):
    """The file is not in the QASPER layout; the message names the file, the paper and the field."""

    def __init__(self, path: str | Path, paper_id: str | None, field_name: str | None, problem: str):
        self.path, self.paper_id, self.field_name = str(path), paper_id, field_name
        where = f"{path}"
        if paper_id is not None:
            where += f", paper {paper_id!r}"
        if field_name is not None:
            where += f", field {field_name!r}"
        super().__init__(f"{where}: {problem}")


@dataclass(frozen=True)
class Passage:
    passage_id: str  # paper_id::section_index::paragraph_index
    paper_id: str
    section: str
    text: str


@dataclass(frozen=True)
class Query:
    query_id: str
    paper_id: str
    question: str
    answers: tuple[str, ...]  # reference answers, one per usable annotator, in annotator order
    extractive_answers: tuple[str, ...]  # the extractive spans joined, per annotator (may be empty)
    gold_passage_ids: tuple[str, ...]  # union over annotators of evidence paragraphs
    split: Split


@dataclass
class LoadReport:
    """What the loader kept and what it skipped, by reason. Shown as asset metadata."""

    papers: int = 0
    passages: int = 0
    queries: int = 0
    queries_with_gold: int = 0
    skipped: Counter = field(default_factory=Counter)

    def as_dict(self) -> dict[str, int]:
        out = {"papers": self.papers, "passages": self.passages, "queries": self.queries,
               "queries_with_gold": self.queries_with_gold}
        out.update({f"skipped_{k}": v for k, v in sorted(self.skipped.items())})
        return out


@dataclass
class Corpus:
    passages: list[Passage]
    queries: list[Query]
    report: LoadReport


@dataclass(frozen=True)
class LoadOptions:
    dev_fraction: float = 0.1
    test_fraction: float = 0.2
    split_salt: str = "uae"
    max_passage_chars: int = 20_000  # a longer paragraph is truncated (and counted)


def hash_order(queries: Iterable[Query]) -> list[Query]:
    """Queries in a fixed pseudo-random order (by id hash): spread over papers, and stable when papers are
    added, so a prefix of it is a fair, reproducible subset."""
    return sorted(queries, key=lambda q: hashlib.sha1(q.query_id.encode()).hexdigest())


def fixed_subset(queries: Sequence[Query], n: int) -> list[Query]:
    """The first n queries of `hash_order` (for the expensive systems); all, in their own order, when n is 0."""
    return hash_order(queries)[:n] if n else list(queries)


def split_for_paper(paper_id: str, options: LoadOptions = LoadOptions()) -> Split:
    """Deterministic split by paper id: all questions of a paper land in the same split."""
    h = int(hashlib.sha1(f"{options.split_salt}:{paper_id}".encode()).hexdigest()[:8], 16) / 0xFFFFFFFF
    if h < options.test_fraction:
        return "test"
    if h < options.test_fraction + options.dev_fraction:
        return "dev"
    return "train"


def file_sha256(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_qasper_json(path: str | Path) -> dict[str, Any]:
    """Parse the file and check the top-level shape; errors name the file."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    try:
        with open(path, encoding="utf-8") as fh:
            raw = json.load(fh)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise QasperFormatError(path, None, None, f"not valid JSON ({exc})") from None
    if not isinstance(raw, dict):
        raise QasperFormatError(path, None, None,
                                f"top level must be an object of paper_id -> paper, got {type(raw).__name__}")
    return raw


def _expect(value: Any, kind: type | tuple[type, ...], path: Path, paper_id: str, field_name: str) -> Any:
    if not isinstance(value, kind):
        names = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
        raise QasperFormatError(path, paper_id, field_name, f"expected {names}, got {type(value).__name__}")
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
    for paper_id, paper in raw.items():
        if not isinstance(paper, dict):
            raise QasperFormatError(path, paper_id, None, f"paper must be an object, got {type(paper).__name__}")
        full_text = paper.get("full_text")
        if not full_text:
            report.skipped["papers_without_full_text"] += 1
            continue
        _expect(full_text, list, path, paper_id, "full_text")
        qas = _expect(paper.get("qas", []), list, path, paper_id, "qas")
        report.papers += 1
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
        split = split_for_paper(paper_id, options)
        for q_idx, qa in enumerate(qas):
            fname = f"qas[{q_idx}]"
            _expect(qa, dict, path, paper_id, fname)
            question = _expect(qa.get("question"), str, path, paper_id, f"{fname}.question").strip()
            qid = _expect(qa.get("question_id"), str, path, paper_id, f"{fname}.question_id")
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
    if not passages:
        raise QasperFormatError(path, None, "full_text", "no paper has a non-empty paragraph")
    return Corpus(passages, queries, report)
