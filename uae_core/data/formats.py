"""Which loader reads a domain's source: one function per format, all returning the same Corpus."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from uae_core.data.qasper import load_qasper
from uae_core.data.schema import Corpus, LoadOptions, SourceFile, file_sha256

LOADERS: dict[str, Callable[[Path, LoadOptions], Corpus]] = {"qasper": load_qasper}


def load_corpus(path: str | Path, format: str = "qasper", options: LoadOptions = LoadOptions()) -> Corpus:
    if format not in LOADERS:
        raise ValueError(f"unknown data format {format!r}; use one of {sorted(LOADERS)}")
    return LOADERS[format](Path(path), options)


def describe_source(path: str | Path, format: str) -> SourceFile:
    """The source's content hash and size, without parsing it (the raw_corpus asset)."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file or folder")
    size = path.stat().st_size if path.is_file() else sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
    return SourceFile(str(path), file_sha256(path), format, size)
