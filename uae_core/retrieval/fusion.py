"""Hybrid retrieval: BM25 and a dense encoder fused by weighted reciprocal-rank fusion.

    score(d) = w / (k + rank_dense(d)) + (1 - w) / (k + rank_bm25(d))        (ranks from 1)

BM25 wins on questions that share rare terms with their passage (COVID-QA's were written from it); the
encoder wins on paraphrase. RRF needs no score calibration between the two; the dense weight `w` and `k`
are chosen per domain on its dev split (`tune_fusion`), since the better system differs by domain.

Example:
    >>> import numpy as np
    >>> fuse([np.array([0, 1, 2]), np.array([2, 1, 0])], weights=[0.5, 0.5], k=60, depth=3).tolist()
    [0, 2, 1]
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass

import numpy as np

from uae_core.data import Query
from uae_core.retrieval.systems import DEPTH, Ranker


@dataclass(frozen=True)
class Fusion:
    """Weighted RRF of a dense system with BM25: `dense_weight` w in [0, 1], rank constant `k`."""

    dense_weight: float = 0.5
    k: int = 60

    def as_dict(self) -> dict:
        return asdict(self)


def fuse(rankings: Sequence[np.ndarray], weights: Sequence[float], k: int, depth: int = DEPTH) -> np.ndarray:
    """Rows by descending fused score; ties keep the first ranking's order (a stable sort)."""
    scores: dict[int, float] = {}
    for ranking, weight in zip(rankings, weights):
        if weight == 0:
            continue
        for rank, row in enumerate(ranking, start=1):
            scores[int(row)] = scores.get(int(row), 0.0) + weight / (k + rank)
    order = sorted(scores, key=lambda r: -scores[r])  # stable: insertion order breaks ties
    return np.asarray(order[:depth], dtype=np.int64)


def hybrid_system(dense: Ranker, bm25: Ranker, fusion: Fusion, depth: int = DEPTH) -> Ranker:
    """A Ranker: the dense and BM25 rankings of each query fused by `fusion`."""
    weights = (fusion.dense_weight, 1.0 - fusion.dense_weight)

    def rank(queries: Sequence[Query], allowed):
        return [fuse(pair, weights, fusion.k, depth) for pair in zip(dense(queries, allowed), bm25(queries, allowed))]
    return rank


DENSE_WEIGHTS = (0.0, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 1.0)
RRF_KS = (10, 30, 60, 100)


def tune_fusion(dense_rankings: Sequence[np.ndarray], bm25_rankings: Sequence[np.ndarray],
                score: Callable[[list[np.ndarray]], float], weights: Sequence[float] = DENSE_WEIGHTS,
                ks: Sequence[int] = RRF_KS) -> tuple[Fusion, float]:
    """The (dense weight, k) whose fused rankings `score` best (dev questions' rankings in, a number out);
    ties go to the earlier grid point. Returns the fusion and its score."""
    best, best_score = Fusion(), float("-inf")
    for w in weights:
        for k in ks:
            fused = [fuse(pair, (w, 1.0 - w), k) for pair in zip(dense_rankings, bm25_rankings)]
            value = score(fused)
            if value > best_score + 1e-12:
                best, best_score = Fusion(w, k), value
    return best, best_score
