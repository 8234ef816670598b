"""What the record-shaped formats share (jsonl, parquet, BEIR, the documents' questions.jsonl): one record
(a JSONL line, a Parquet row) in, a Passage or a Query out, with the same checks and the same messages.

Structural damage (bad JSON, a missing or mistyped field, a duplicate id, an unknown split) raises a
`DataFormatError` naming the file, the record and the field; unusable content (an empty text, a gold id
that names no passage) is skipped and counted in the report. Duplicate ids are errors, not skips: two
records with one id would silently merge downstream, where everything is keyed by id.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, get_args

from uae_core.data.schema import Corpus, DataFormatError, LoadOptions, LoadReport, Passage, Query, Split
from uae_core.data.splits import split_for_document

SPLITS = get_args(Split)


@dataclass(frozen=True)
class Record:
    """One record and where it came from: `kind` is "line" (JSONL, counted from 1) or "row" (Parquet,
    counted from 0, as pyarrow and pandas index rows)."""

    path: Path
    kind: str
    number: str
    data: dict[str, Any]

    def error(self, field_name: str | None, problem: str) -> DataFormatError:
        return DataFormatError(self.path, self.number, field_name, problem, self.kind)

    def where(self) -> str:
        return f"{self.kind} {self.number}"


def read_jsonl(path: Path) -> Iterator[Record]:
    """The JSON objects of a JSONL file, one a line (blank lines carry nothing and are passed over)."""
    with open(path, "rb") as fh:
        for n, raw in enumerate(fh, 1):
            try:
                line = raw.decode("utf-8-sig" if n == 1 else "utf-8")
            except UnicodeDecodeError as exc:
                raise DataFormatError(path, str(n), None, f"not UTF-8 text ({exc.reason})", "line") from None
            if not line.strip():
                continue
            try:
                data = json.loads(line)
            except json.JSONDecodeError as exc:
                raise DataFormatError(path, str(n), None, f"not valid JSON ({exc.msg}, column {exc.colno})",
                                      "line") from None
            if not isinstance(data, dict):
                raise DataFormatError(path, str(n), None, f"expected a JSON object, got {type(data).__name__}",
                                      "line")
            yield Record(path, "line", str(n), data)


def _present(rec: Record, names: tuple[str, ...]) -> tuple[str, Any]:
    """The first of `names` (aliases) the record has with a non-null value, else (names[0], None)."""
    for name in names:
        if rec.data.get(name) is not None:
            return name, rec.data[name]
    return names[0], None


def get_id(rec: Record, *names: str, required: bool = True) -> str | None:
    """An id: a non-empty string, or an integer (numeric ids are common; they are compared as text)."""
    name, value = _present(rec, names)
    if value is None:
        if required:
            raise rec.error(name, "missing")
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise rec.error(name, f"expected a string (or integer) id, got {type(value).__name__}")
    value = str(value).strip()
    if not value:
        raise rec.error(name, "empty id")
    return value


def get_text(rec: Record, *names: str, required: bool = True) -> str | None:
    name, value = _present(rec, names)
    if value is None:
        if required:
            raise rec.error(name, "missing")
        return None
    if not isinstance(value, str):
        raise rec.error(name, f"expected a string, got {type(value).__name__}")
    return value


def get_list(rec: Record, *names: str, bare_string: bool = False, ids: bool = False) -> list[str]:
    """A list of strings (or of ids); absent or null is []; `bare_string` takes "x" as ["x"]."""
    name, value = _present(rec, names)
    if value is None:
        return []
    if bare_string and isinstance(value, str):
        value = [value]
    if not isinstance(value, (list, tuple)):
        raise rec.error(name, f"expected a list, got {type(value).__name__}")
    out = []
    for i, item in enumerate(value):
        ok = isinstance(item, str) or (ids and isinstance(item, int) and not isinstance(item, bool))
        if not ok:
            raise rec.error(f"{name}[{i}]", f"expected a string, got {type(item).__name__}")
        out.append(str(item).strip())
    return out


@dataclass
class CorpusBuilder:
    """Collects passages, then questions (gold ids are resolved against the passages kept), checking ids."""

    options: LoadOptions
    report: LoadReport = field(default_factory=LoadReport)
    passages: list[Passage] = field(default_factory=list)
    queries: list[Query] = field(default_factory=list)
    _passage_seen: dict[str, str] = field(default_factory=dict)  # passage id -> where it was first read
    _query_seen: dict[str, str] = field(default_factory=dict)
    _kept: set[str] = field(default_factory=set)
    _docs: set[str] = field(default_factory=set)

    def add_passage(self, pid: str, doc_id: str, section: str, text: str,
                    rec: Record | None = None, id_field: str = "id") -> None:
        if rec is not None:
            if pid in self._passage_seen:
                raise rec.error(id_field, f"duplicate passage id {pid!r} (first on {self._passage_seen[pid]})")
            self._passage_seen[pid] = rec.where()
        text = text.strip()
        if not text:
            self.report.skipped["empty_passages"] += 1
            return
        if len(text) > self.options.max_passage_chars:
            self.report.skipped["passages_truncated"] += 1
            text = text[: self.options.max_passage_chars]
        self.passages.append(Passage(pid, doc_id, section, text))
        self._kept.add(pid)
        self._docs.add(doc_id)

    def add_query(self, rec: Record, qid: str, doc_id: str, question: str, answers: Iterable[str],
                  gold_ids: Iterable[str], split: Split | None = None, id_field: str = "id") -> None:
        """Questions without answers or gold are kept; the split is `split` if given, else by the hash of
        the document id, else of the question id (stable when other questions are added)."""
        if qid in self._query_seen:
            raise rec.error(id_field, f"duplicate question id {qid!r} (first on {self._query_seen[qid]})")
        self._query_seen[qid] = rec.where()
        question = question.strip()
        if not question:
            self.report.skipped["empty_questions"] += 1
            return
        answers = [a.strip() for a in answers]
        kept_answers = [a for a in answers if a]
        if len(kept_answers) < len(answers):
            self.report.skipped["empty_answers"] += len(answers) - len(kept_answers)
        gold: list[str] = []
        for g in gold_ids:
            if g not in self._kept:
                self.report.skipped["evidence_unmatched"] += 1
            elif g not in gold:
                gold.append(g)
        split = split or split_for_document(doc_id or qid, self.options)
        # No extractive spans in these formats: one empty entry per answer keeps the two aligned.
        self.queries.append(Query(qid, doc_id, question, tuple(kept_answers), ("",) * len(kept_answers),
                                  tuple(gold), split))
        self.report.queries += 1
        self.report.queries_with_gold += bool(gold)
        self.report.queries_with_answers += bool(kept_answers)

    def corpus(self, source: Path) -> Corpus:
        if not self.passages:
            raise DataFormatError(source, None, "text", "no passage with text")
        self.report.documents, self.report.passages = len(self._docs), len(self.passages)
        return Corpus(self.passages, self.queries, self.report)


def add_passage_record(builder: CorpusBuilder, rec: Record) -> None:
    """{"id", "text", optional "doc_id" (default: the passage's own id), optional "section" or "title"}."""
    pid = get_id(rec, "id")
    text = get_text(rec, "text")
    doc_id = get_id(rec, "doc_id", required=False) or pid
    section = get_text(rec, "section", "title", required=False) or ""
    builder.add_passage(pid, doc_id, section, text, rec)


def add_question_record(builder: CorpusBuilder, rec: Record) -> None:
    """{"id", "question" (or "text"), optional "answers" (list or one string), "gold_ids" (alias
    "gold_passage_ids"), "doc_id", "split" (train|dev|test; wins over the hash split)}."""
    qid = get_id(rec, "id")
    question = get_text(rec, "question", "text")
    answers = get_list(rec, "answers", bare_string=True)
    gold = get_list(rec, "gold_ids", "gold_passage_ids", ids=True)
    doc_id = get_id(rec, "doc_id", required=False) or ""
    split = (get_text(rec, "split", required=False) or "").strip() or None  # "" = not given
    if split is not None and split not in SPLITS:
        raise rec.error("split", f"expected one of {'|'.join(SPLITS)}, got {split!r}")
    builder.add_query(rec, qid, doc_id, question, answers, gold, split)
