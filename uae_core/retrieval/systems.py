"""Retrieval systems as one callable type: (queries, allowed rows per query or None) -> rankings.

Every system of the evaluation and of the query path is a `Ranker`: BM25, a dense encoder over its FAISS
index, LLM re-ranking of another system (rerank.py), a hybrid (fusion.py). Rankings are passage rows, best
first, `DEPTH` deep. BM25 and the dense system are `ScoredRanker`s: they also give each row's score, which
score fusion needs.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import numpy as np

from uae_core.data import Passage, Query
from uae_core.retrieval.encoder import encode
from uae_core.retrieval.index import search_scored
from uae_core.retrieval.ranking import bm25_scored

if TYPE_CHECKING:
    from uae_core.retrieval.bm25 import BM25Index

Ranker = Callable[[Sequence[Query], "list[np.ndarray] | None"], list[np.ndarray]]
DEPTH = 1000  # ranking depth for MAP (deep enough that truncation moves it by <0.001)


class ScoredRanker:
    """A Ranker whose `scored(queries, allowed)` also gives each ranking's scores: [(rows, scores)]."""

    def __init__(self, scored: Callable[[Sequence[Query], list[np.ndarray] | None],
                                        list[tuple[np.ndarray, np.ndarray]]]):
        self.scored = scored

    def __call__(self, queries: Sequence[Query], allowed: list[np.ndarray] | None) -> list[np.ndarray]:
        return [rows for rows, _ in self.scored(queries, allowed)]


def bm25_system(passages: Sequence[Passage], bm25: BM25Index | None = None, depth: int = DEPTH) -> ScoredRanker:
    from uae_core.retrieval.bm25 import BM25Index  # imported here: the rest of this module runs without bm25s

    bm25 = bm25 or BM25Index([p.text for p in passages])
    return ScoredRanker(lambda queries, allowed: bm25_scored(bm25, queries, depth, allowed))


def dense_system(model, index, depth: int = DEPTH) -> ScoredRanker:
    """A student model plus a FAISS index of all passages embedded by that same model."""
    return ScoredRanker(lambda queries, allowed: search_scored(
        index, encode(model, [q.question for q in queries]), depth, allowed))
