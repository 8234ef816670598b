"""FAISS index over passage embeddings, searched either over the whole corpus or inside a scope.

Exact inner-product search (IndexFlatIP) is right up to ~1M passages; past that an IVF-PQ index is the
design's plan. Row i of the index is passage i of the domain's passage list.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import faiss


def build_index(embeddings: np.ndarray) -> faiss.Index:
    import faiss  # imported where used: exact_search and top_k work without FAISS installed

    index = faiss.IndexFlatIP(embeddings.shape[1])
    index.add(np.ascontiguousarray(embeddings, dtype=np.float32))
    return index


def save_index(index: faiss.Index, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".partial")
    import faiss

    faiss.write_index(index, str(tmp))
    tmp.replace(path)
    return path


def load_index(path: str | Path) -> faiss.Index:
    import faiss

    return faiss.read_index(str(path))


def search(index: faiss.Index, queries: np.ndarray, k: int,
           allowed: list[np.ndarray] | None = None) -> list[np.ndarray]:
    """Top-k row ids per query; `allowed[i]` restricts query i to those rows (scope `paper`)."""
    return [rows for rows, _ in search_scored(index, queries, k, allowed)]


def search_scored(index: faiss.Index, queries: np.ndarray, k: int,
                  allowed: list[np.ndarray] | None = None) -> list[tuple[np.ndarray, np.ndarray]]:
    """`search` with each row's inner product beside it: (rows, scores) per query, best first."""
    import faiss

    queries = np.ascontiguousarray(queries, dtype=np.float32)
    if allowed is None:
        scores, ids = index.search(queries, min(k, index.ntotal))
        return [(row[row >= 0], score[row >= 0]) for row, score in zip(ids, scores)]
    out = []
    for q, rows in zip(queries, allowed):
        params = faiss.SearchParameters(sel=faiss.IDSelectorBatch(np.asarray(rows, dtype=np.int64)))
        scores, ids = index.search(q[None, :], min(k, len(rows)), params=params)
        out.append((ids[0][ids[0] >= 0], scores[0][ids[0] >= 0]))
    return out


def exact_search(passage_emb: np.ndarray, queries: np.ndarray, k: int,
                 allowed: list[np.ndarray] | None = None) -> list[np.ndarray]:
    """The same ranking as `search` on a flat index, by one matrix product (no FAISS needed): for
    evaluating many models on small corpora, where building indexes is pure overhead."""
    scores = np.asarray(queries, dtype=np.float32) @ np.asarray(passage_emb, dtype=np.float32).T
    return [top_k(row, k, None if allowed is None else allowed[i]) for i, row in enumerate(scores)]


def top_k(scores: np.ndarray, k: int, allowed: np.ndarray | None = None) -> np.ndarray:
    """Indices of the k best scores (descending), optionally only among `allowed` indices."""
    if allowed is not None:
        sub = scores[allowed]
        order = np.argsort(-sub, kind="stable")[:k]
        return np.asarray(allowed)[order]
    k = min(k, len(scores))
    part = np.argpartition(-scores, k - 1)[:k]
    return part[np.argsort(-scores[part], kind="stable")]
