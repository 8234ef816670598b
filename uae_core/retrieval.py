"""Ranking passages for queries with BM25 or a dense encoder, inside a scope.

Scope `paper`: a query retrieves among its own paper's passages (QASPER's original protocol).
Scope `corpus`: among all passages of the domain (the harder, open-retrieval protocol).
"""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING, Literal, Sequence

import numpy as np

from uae_core.index import build_index, search, top_k
from uae_core.qasper import Passage, Query

if TYPE_CHECKING:
    from uae_core.bm25 import BM25Index

Scope = Literal["paper", "corpus"]


def scope_rows(passages: Sequence[Passage], queries: Sequence[Query], scope: Scope) -> list[np.ndarray] | None:
    """Per query, the passage rows it may retrieve; None means all (corpus scope)."""
    if scope == "corpus":
        return None
    if scope != "paper":
        raise ValueError(f"scope must be 'paper' or 'corpus', got {scope!r}")
    by_paper: dict[str, list[int]] = defaultdict(list)
    for row, p in enumerate(passages):
        by_paper[p.paper_id].append(row)
    arrays = {k: np.asarray(v, dtype=np.int64) for k, v in by_paper.items()}
    empty = np.zeros(0, dtype=np.int64)
    return [arrays.get(q.paper_id, empty) for q in queries]


def bm25_rank(bm25: BM25Index, queries: Sequence[Query], k: int,
              allowed: list[np.ndarray] | None) -> list[np.ndarray]:
    return [top_k(bm25.scores(q.question), k, None if allowed is None else allowed[i])
            for i, q in enumerate(queries)]


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
