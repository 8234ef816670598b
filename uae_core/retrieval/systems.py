"""Retrieval systems as one callable type: (queries, allowed rows per query or None) -> rankings.

Every system of the evaluation and of the query path is a `Ranker`: BM25, a dense encoder over its FAISS
index, LLM re-ranking of another system (rerank.py). Rankings are passage rows, best first, `DEPTH` deep.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import numpy as np

from uae_core.data import Passage, Query
from uae_core.retrieval.encoder import encode
from uae_core.retrieval.index import search
from uae_core.retrieval.ranking import bm25_rank

if TYPE_CHECKING:
    from uae_core.retrieval.bm25 import BM25Index

Ranker = Callable[[Sequence[Query], "list[np.ndarray] | None"], list[np.ndarray]]
DEPTH = 1000  # ranking depth for MAP (deep enough that truncation moves it by <0.001)


def bm25_system(passages: Sequence[Passage], bm25: BM25Index | None = None, depth: int = DEPTH) -> Ranker:
    from uae_core.retrieval.bm25 import BM25Index  # imported here: the rest of this module runs without bm25s

    bm25 = bm25 or BM25Index([p.text for p in passages])
    return lambda queries, allowed: bm25_rank(bm25, queries, depth, allowed)


def dense_system(model, index, depth: int = DEPTH) -> Ranker:
    """A student model plus a FAISS index of all passages embedded by that same model."""
    return lambda queries, allowed: search(index, encode(model, [q.question for q in queries]), depth, allowed)
