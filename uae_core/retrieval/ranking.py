"""Ranking passages for queries with BM25 or a dense encoder, inside a scope.

Scope `document`: a query retrieves among its own document's passages (QASPER's original protocol;
`paper` is accepted as its old name). Scope `corpus`: among all passages of the domain (open retrieval).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import TYPE_CHECKING, Literal

import numpy as np

from uae_core.data import Passage, Query
from uae_core.retrieval.index import build_index, search, top_k

if TYPE_CHECKING:
    from uae_core.retrieval.bm25 import BM25Index

Scope = Literal["document", "corpus"]
SCOPES = ("document", "corpus")


def normalize_scope(scope: str) -> Scope:
    """'paper' (the QASPER name) -> 'document'; anything else must be a known scope."""
    scope = "document" if scope == "paper" else scope
    if scope not in SCOPES:
        raise ValueError(f"scope must be 'document' (alias 'paper') or 'corpus', got {scope!r}")
    return scope  # type: ignore[return-value]


def scope_rows(passages: Sequence[Passage], queries: Sequence[Query], scope: str) -> list[np.ndarray] | None:
    """Per query, the passage rows it may retrieve; None means all (corpus scope)."""
    if normalize_scope(scope) == "corpus":
        return None
    by_doc: dict[str, list[int]] = defaultdict(list)
    for row, p in enumerate(passages):
        by_doc[p.doc_id].append(row)
    arrays = {k: np.asarray(v, dtype=np.int64) for k, v in by_doc.items()}
    empty = np.zeros(0, dtype=np.int64)
    return [arrays.get(q.doc_id, empty) for q in queries]


def bm25_scored(bm25: BM25Index, queries: Sequence[Query], k: int,
                allowed: list[np.ndarray] | None) -> list[tuple[np.ndarray, np.ndarray]]:
    """Each query's top k rows by BM25, with their scores (what score fusion needs)."""
    out = []
    for i, q in enumerate(queries):
        scores = bm25.scores(q.question)
        rows = top_k(scores, k, None if allowed is None else allowed[i])
        out.append((rows, scores[rows]))
    return out


def bm25_rank(bm25: BM25Index, queries: Sequence[Query], k: int,
              allowed: list[np.ndarray] | None) -> list[np.ndarray]:
    return [rows for rows, _ in bm25_scored(bm25, queries, k, allowed)]


def dense_rank(passage_emb: np.ndarray, query_emb: np.ndarray, k: int,
               allowed: list[np.ndarray] | None, index=None) -> list[np.ndarray]:
    return search(index if index is not None else build_index(passage_emb), query_emb, k, allowed)


def merge_rankings(rankings: Sequence[Sequence[int]], k: int) -> list[int]:
    """Round-robin merge of several rankings without duplicates, up to k items."""
    merged: list[int] = []
    seen: set[int] = set()
    depth = max((len(r) for r in rankings), default=0)
    for rank in range(depth):
        for ranking in rankings:
            if rank < len(ranking) and int(ranking[rank]) not in seen:
                seen.add(int(ranking[rank]))
                merged.append(int(ranking[rank]))
                if len(merged) == k:
                    return merged
    return merged
