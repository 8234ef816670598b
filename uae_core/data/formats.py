"""Which loader reads a domain's source: one function per format, all returning the same Corpus.

`detect_format` tells the format from the source's layout, for sources nobody described (a file or folder
dropped in the watched folder); `load_corpus(path, "auto")` uses it.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from uae_core.data.beir import load_beir
from uae_core.data.documents import SUFFIXES, load_documents
from uae_core.data.qasper import load_qasper
from uae_core.data.schema import Corpus, LoadOptions, SourceFile, file_sha256
from uae_core.data.tables import load_jsonl, load_parquet

LOADERS: dict[str, Callable[[Path, LoadOptions], Corpus]] = {
    "qasper": load_qasper, "beir": load_beir, "jsonl": load_jsonl, "parquet": load_parquet,
    "documents": load_documents}

EXPECTED_LAYOUTS = ("a QASPER .json file (an object of paper_id -> paper), or a folder holding corpus.jsonl + "
                    "queries.jsonl (beir), passages.jsonl (jsonl), passages.parquet (parquet), or .txt/.md "
                    "files (documents)")


def detect_format(path: str | Path) -> str:
    """The format of a source from its layout alone (the files' names; for a .json file, its first byte)."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file or folder")
    if path.is_file():
        if path.suffix.lower() == ".json" and _first_char(path) == "{":
            return "qasper"
        raise ValueError(f"{path}: cannot tell its data format; expected {EXPECTED_LAYOUTS}")
    if (path / "corpus.jsonl").is_file() and (path / "queries.jsonl").is_file():
        return "beir"
    tables = [fmt for fmt in ("jsonl", "parquet") if (path / f"passages.{fmt}").is_file()]
    if len(tables) > 1:
        raise ValueError(f"{path}: holds both passages.jsonl and passages.parquet; keep one, or name the "
                         "format explicitly")
    if tables:
        return tables[0]
    if any(p.is_file() and p.suffix.lower() in SUFFIXES and not any(part.startswith(".") for part in
                                                                    p.relative_to(path).parts)
           for p in path.rglob("*")):
        return "documents"
    raise ValueError(f"{path}: cannot tell its data format; expected {EXPECTED_LAYOUTS}")


def _first_char(path: Path) -> str:
    with open(path, "rb") as fh:
        head = fh.read(4096).decode("utf-8-sig", errors="replace").lstrip()
    return head[:1]


def load_corpus(path: str | Path, format: str = "qasper", options: LoadOptions = LoadOptions()) -> Corpus:
    """Passages and questions of a source; format "auto" asks `detect_format`."""
    if format == "auto":
        format = detect_format(path)
    if format not in LOADERS:
        raise ValueError(f"unknown data format {format!r}; use one of {sorted(LOADERS)} or 'auto'")
    return LOADERS[format](Path(path), options)


def describe_source(path: str | Path, format: str) -> SourceFile:
    """The source's content hash and size, without parsing it (the raw_corpus asset); "auto" records the
    detected format."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file or folder")
    if format == "auto":
        format = detect_format(path)
    size = path.stat().st_size if path.is_file() else sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
    return SourceFile(str(path), file_sha256(path), format, size)
