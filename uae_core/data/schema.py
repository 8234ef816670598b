"""What every loader produces: passages, questions, and a report of what was skipped and why.

A passage belongs to a document (a paper, an article, a file); a question may name its document (scope
`document` retrieves among that document's passages only), reference answers (what the teacher scores)
and gold evidence passages (what the retrieval metrics and the hard-label baseline use). Loaders stop on
structural damage with a `DataFormatError` naming the file, the record and the field, and skip content
that is merely unusable, counting it in `LoadReport`, so nothing is dropped silently.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

Split = Literal["train", "dev", "test"]


class DataFormatError(ValueError):
    """A domain file is not in the layout its format expects; the message names file, record and field."""

    def __init__(self, path: str | Path, record: str | None, field_name: str | None, problem: str,
                 kind: str = "record"):
        self.path, self.record, self.field_name = str(path), record, field_name
        where = f"{path}"
        if record is not None:
            where += f", {kind} {record!r}"
        if field_name is not None:
            where += f", field {field_name!r}"
        super().__init__(f"{where}: {problem}")


@dataclass(frozen=True)
class Passage:
    passage_id: str
    doc_id: str
    section: str
    text: str


@dataclass(frozen=True)
class Query:
    query_id: str
    doc_id: str  # "" when the question is not tied to a document
    question: str
    answers: tuple[str, ...]  # reference answers, one per usable annotator; may be empty
    extractive_answers: tuple[str, ...]  # the extractive spans joined, per annotator (may be empty)
    gold_passage_ids: tuple[str, ...]  # evidence passages (union over annotators); may be empty
    split: Split


@dataclass
class LoadReport:
    """What the loader kept and what it skipped, by reason. Shown as asset metadata."""

    documents: int = 0
    passages: int = 0
    queries: int = 0
    queries_with_gold: int = 0
    queries_with_answers: int = 0
    skipped: Counter = field(default_factory=Counter)

    def as_dict(self) -> dict[str, int]:
        out = {"documents": self.documents, "passages": self.passages, "queries": self.queries,
               "queries_with_gold": self.queries_with_gold, "queries_with_answers": self.queries_with_answers}
        out.update({f"skipped_{k}": v for k, v in sorted(self.skipped.items())})
        return out


@dataclass
class Corpus:
    passages: list[Passage]
    queries: list[Query]
    report: LoadReport


@dataclass(frozen=True)
class LoadOptions:
    """How a domain file becomes passages and questions.

    Attributes:
        dev_fraction: share of documents whose questions form the dev split (model selection, promotion);
            a question without a document counts as its own.
        test_fraction: share of documents whose questions form the held-out test split (eval_report).
        split_salt: salt of the hash (of the document id, else the question id) that assigns splits; change it
            for another random split. Splits a source gives itself (BEIR qrels, a `split` column) win.
        max_passage_chars: a longer passage is truncated to this many characters (and counted).
        chunk_words: format `documents` only: the words a passage aims at when files are cut into
            passages (short paragraphs are merged up to it, longer ones split at sentences near it).
    """

    dev_fraction: float = 0.1
    test_fraction: float = 0.2
    split_salt: str = "uae"
    max_passage_chars: int = 20_000
    chunk_words: int = 120

    def __post_init__(self) -> None:
        from uae_core.validation import require, require_finite

        me = "LoadOptions"
        require_finite(self, me)
        require(0 <= self.dev_fraction < 1, me, "dev_fraction", f"must be in [0, 1), got {self.dev_fraction}")
        require(0 <= self.test_fraction < 1, me, "test_fraction", f"must be in [0, 1), got {self.test_fraction}")
        require(self.dev_fraction + self.test_fraction < 1, me, "test_fraction",
                "dev_fraction + test_fraction must leave some documents for training")
        require(self.max_passage_chars >= 1, me, "max_passage_chars", f"must be >= 1, got {self.max_passage_chars}")
        require(self.chunk_words >= 10, me, "chunk_words", f"must be at least 10, got {self.chunk_words}")


@dataclass(frozen=True)
class SourceFile:
    """A domain's source (a file or a folder) and its content hash, the data version Dagster sees."""

    path: str
    sha256: str
    format: str
    bytes: int


def file_sha256(path: str | Path) -> str:
    """Content hash of a file, or of a folder's files (relative names and contents, in sorted order)."""
    path = Path(path)
    digest = hashlib.sha256()
    files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
    for f in files:
        if path.is_dir():
            digest.update(str(f.relative_to(path)).encode() + b"\x00")
        with open(f, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()
