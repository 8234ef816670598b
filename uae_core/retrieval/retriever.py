"""A domain's retriever on disk, and searching it at query time: no LLM, no Dagster.

One folder per registered version (`<data dir>/indexes/<domain>/v<N>/`):
    index.faiss      passage embeddings of that version (exact inner product; row i = line i below)
    passages.jsonl   passage id, document id, section and text, in index row order
    bm25/            the BM25 index of the same passages (bm25s)
    retriever.json   model URI, fusion of the hybrid system (chosen on dev), counts
`Retriever` answers a question with the top k of `uae` (the encoder), `bm25` or `hybrid` (both, fused).
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from uae_core.data import Passage, Query
from uae_core.retrieval.bm25 import BM25Index
from uae_core.retrieval.fusion import Fusion, hybrid_system
from uae_core.retrieval.index import build_index, load_index, save_index
from uae_core.retrieval.systems import Ranker, bm25_system, dense_system

SYSTEMS = ("uae", "hybrid", "bm25")


@dataclass(frozen=True)
class RetrieverFiles:
    """Where a saved retriever is and what it holds (the faiss_index asset's value)."""

    folder: str
    model_uri: str
    passages: int
    dim: int
    fusion: Fusion

    @property
    def index_path(self) -> str:
        return str(Path(self.folder) / "index.faiss")


def save_retriever(folder: str | Path, embeddings: np.ndarray, passages: Sequence[Passage], model_uri: str,
                   fusion: Fusion, bm25: BM25Index | None = None, extra: dict | None = None) -> RetrieverFiles:
    """Write the folder atomically (a half-written retriever is never found under its final name)."""
    folder = Path(folder)
    tmp = folder.with_name(folder.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    save_index(build_index(embeddings), tmp / "index.faiss")
    with open(tmp / "passages.jsonl", "w", encoding="utf-8") as out:
        for p in passages:
            out.write(json.dumps({"id": p.passage_id, "doc_id": p.doc_id, "section": p.section, "text": p.text}) + "\n")
    (bm25 or BM25Index([p.text for p in passages])).save(tmp / "bm25")
    files = RetrieverFiles(str(folder), model_uri, len(passages), int(embeddings.shape[1]), fusion)
    meta = {"model_uri": model_uri, "passages": files.passages, "dim": files.dim, "fusion": fusion.as_dict(),
            **(extra or {})}
    (tmp / "retriever.json").write_text(json.dumps(meta, indent=1))
    shutil.rmtree(folder, ignore_errors=True)
    tmp.rename(folder)
    return files


@dataclass(frozen=True)
class Hit:
    rank: int
    passage_id: str
    doc_id: str
    section: str
    text: str


class Retriever:
    """A saved retriever plus its encoder (a sentence-transformers model), ready to answer questions."""

    def __init__(self, folder: str | Path, encoder):
        """Load the folder; a missing or broken file is an error naming it and the fix (rebuild the index).
        Without index.faiss the `bm25` system still answers; `uae` and `hybrid` name the missing file."""
        folder = Path(folder)
        rebuild = "materialize the domain's faiss_index to rebuild it (uae materialize --domain DOMAIN)"
        meta_file = folder / "retriever.json"
        if not meta_file.is_file():
            raise FileNotFoundError(f"{folder}: no retriever here (retriever.json is missing); materialize the "
                                    "domain's faiss_index first")
        try:
            self.meta = json.loads(meta_file.read_text())
            if not isinstance(self.meta, dict) or not isinstance(self.meta.get("model_uri"), str):
                raise ValueError("expected an object with model_uri, fusion, passages")
        except (ValueError, UnicodeDecodeError) as exc:
            raise ValueError(f"{meta_file}: not a retriever description ({exc}); {rebuild}") from None
        self.passages = _read_passages(folder / "passages.jsonl", rebuild)
        try:
            self.fusion = Fusion.from_dict(self.meta["fusion"])
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"{folder / 'retriever.json'}: field 'fusion' ({self.meta.get('fusion')!r}) is not a "
                             f"fusion: {exc}; materialize the domain's faiss_index to rebuild it") from exc
        expected = self.meta.get("passages")
        if expected is not None and expected != len(self.passages):
            raise ValueError(f"{folder / 'passages.jsonl'}: {len(self.passages)} passages, but {meta_file.name} says "
                             f"{expected}; {rebuild}")
        if not (folder / "bm25").is_dir():
            raise FileNotFoundError(f"{folder / 'bm25'}: the BM25 index is missing; {rebuild}")
        self.systems: dict[str, Ranker] = {"bm25": bm25_system(self.passages, BM25Index.load(folder / "bm25"))}
        index_file = folder / "index.faiss"
        if index_file.is_file():
            index = load_index(index_file)
            if index.ntotal != len(self.passages):
                raise ValueError(f"{index_file}: {index.ntotal} rows, but passages.jsonl has {len(self.passages)} "
                                 f"passages; {rebuild}")
            self.systems["uae"] = dense_system(encoder, index)
            self.systems["hybrid"] = hybrid_system(self.systems["uae"], self.systems["bm25"], self.fusion)
        else:  # BM25 needs no embeddings; the encoder's systems say what is missing when asked for
            self.systems["uae"] = self.systems["hybrid"] = _missing(
                f"{index_file} is missing, so only --system bm25 can answer; {rebuild}")

    def search(self, question: str, k: int = 5, system: str = "hybrid", doc_id: str | None = None) -> list[Hit]:
        """The top k passages for `question` (within document `doc_id` if given), best first."""
        if system not in self.systems:
            raise ValueError(f"system must be one of {SYSTEMS}, got {system!r}")
        if k < 1:
            raise ValueError(f"k must be at least 1, got {k}")
        query = Query("q", doc_id or "", question, (), (), (), "test")
        allowed = None
        if doc_id is not None:
            allowed = [np.asarray([i for i, p in enumerate(self.passages) if p.doc_id == doc_id], dtype=np.int64)]
        rows = self.systems[system]([query], allowed)[0][:k]
        return [Hit(i + 1, self.passages[r].passage_id, self.passages[r].doc_id, self.passages[r].section,
                    self.passages[r].text) for i, r in enumerate(rows)]

    def as_dicts(self, hits: Sequence[Hit]) -> list[dict]:
        return [asdict(h) for h in hits]


def _read_passages(path: Path, rebuild: str) -> list[Passage]:
    """passages.jsonl in index row order; a missing file or a bad line is an error naming it and the line."""
    if not path.is_file():
        raise FileNotFoundError(f"{path}: missing; {rebuild}")
    passages = []
    with open(path, encoding="utf-8") as fh:
        for line_no, line in enumerate(fh, start=1):
            try:
                r = json.loads(line)
                passages.append(Passage(r["id"], r["doc_id"], r["section"], r["text"]))
            except (ValueError, KeyError, TypeError) as exc:
                raise ValueError(f"{path}, line {line_no}: not a passage record ({exc!r}); {rebuild}") from None
    return passages


def _missing(message: str) -> Ranker:
    def rank(queries, allowed):
        raise FileNotFoundError(message)
    return rank
