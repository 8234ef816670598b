"""Hybrid retrieval: BM25 and a dense encoder fused into one ranking.

Two fusions, one dense weight w in [0, 1] each:

    convex (default):  score(d) = w * mm_dense(d) + (1 - w) * mm_bm25(d)
    rrf:               score(d) = w / (k + rank_dense(d)) + (1 - w) / (k + rank_bm25(d))      (ranks from 1)

`mm` is min-max normalisation over that system's top `POOL` scores of the query, clipped at 0 (a passage
outside a system's list gets 0 from it). BM25 wins on questions that share rare terms with their passage
(COVID-QA's were written from it); the encoder wins on paraphrase. The convex combination keeps how *sure*
each system is: a BM25 top hit far ahead of the rest stays on top unless the encoder is as sure of another,
where RRF sees only ranks and lets a weak encoder's rank 1 pull an exact lexical match down. Bruch et al.
(2023, "An Analysis of Fusion Functions for Hybrid Retrieval", ACM TOIS) found the convex combination
better than RRF in and out of domain and its one weight cheap to tune on few questions; here (docs/results.md)
RRF weights tuned on COVID-QA's 107 dev questions lost to BM25 on test, convex ones did not.
`tune_fusion` chooses w per domain on its dev split, since the better system differs by domain.

Example:
    >>> import numpy as np
    >>> dense = (np.array([0, 1, 2]), np.array([0.9, 0.5, 0.1]))
    >>> bm25 = (np.array([2, 1, 0]), np.array([9.0, 1.0, 0.5]))
    >>> fuse_scored([dense, bm25], Fusion(dense_weight=0.4), depth=3).tolist()
    [2, 0, 1]
    >>> fuse_scored([dense, bm25], Fusion("rrf", dense_weight=0.4, k=60), depth=3).tolist()  # 1 is nobody's best
    [2, 1, 0]
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass

import numpy as np

from uae_core.data import Query
from uae_core.retrieval.systems import DEPTH, Ranker, ScoredRanker

METHODS = ("convex", "rrf")
POOL = 100  # per system: the top scores that set its min-max range


@dataclass(frozen=True)
class Fusion:
    """How a dense system and BM25 are fused: `method` (convex or rrf), the dense weight w in [0, 1], and
    RRF's rank constant `k` (unused by convex)."""

    method: str = "convex"
    dense_weight: float = 0.5
    k: int = 60

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ValueError(f"fusion method must be one of {METHODS}, got {self.method!r}")
        if not 0.0 <= self.dense_weight <= 1.0:
            raise ValueError(f"fusion dense_weight must be in [0, 1], got {self.dense_weight}")

    def as_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, saved: dict) -> Fusion:
        """A fusion as saved in retriever.json; one saved before `method` existed was RRF."""
        return cls(**{"method": "rrf", **saved})

    def __setstate__(self, state: dict) -> None:  # pickles from before `method` existed were RRF
        for name, value in {"method": "rrf", **state}.items():
            object.__setattr__(self, name, value)


def fuse(rankings: Sequence[np.ndarray], weights: Sequence[float], k: int, depth: int = DEPTH) -> np.ndarray:
    """Weighted RRF: rows by descending fused score; ties keep the first ranking's order (a stable sort)."""
    scores: dict[int, float] = {}
    for ranking, weight in zip(rankings, weights):
        if weight == 0:
            continue
        for rank, row in enumerate(ranking, start=1):
            scores[int(row)] = scores.get(int(row), 0.0) + weight / (k + rank)
    return _best(scores, depth)


def convex(scored: Sequence[tuple[np.ndarray, np.ndarray]], weights: Sequence[float], depth: int = DEPTH,
           pool: int = POOL) -> np.ndarray:
    """Weighted sum of min-max normalised scores (range from each list's top `pool`, clipped at 0); ties keep
    the first list's order. A list whose top scores are all equal (BM25 with no query term in the corpus)
    carries no preference and adds nothing."""
    scores: dict[int, float] = {}
    for (rows, values), weight in zip(scored, weights):
        if weight == 0 or len(rows) == 0:
            continue
        for row, value in zip(rows.tolist(), minmax(values, pool).tolist()):
            scores[row] = scores.get(row, 0.0) + weight * value
    return _best(scores, depth)


def minmax(values: np.ndarray, pool: int = POOL) -> np.ndarray:
    """A ranked list's scores on [0, 1] by its top `pool` (the range convex fusion uses), clipped at 0; all
    zeros when those scores are equal (no preference)."""
    values = np.asarray(values, dtype=np.float64)
    lo, hi = values[:pool].min(), values[:pool].max()
    return np.clip((values - lo) / (hi - lo), 0.0, None) if hi > lo else np.zeros(len(values))


def _best(scores: dict[int, float], depth: int) -> np.ndarray:
    order = sorted(scores, key=lambda r: -scores[r])  # stable: insertion order breaks ties
    return np.asarray(order[:depth], dtype=np.int64)


def fuse_scored(pair: Sequence[tuple[np.ndarray, np.ndarray]], fusion: Fusion, depth: int = DEPTH) -> np.ndarray:
    """One query's (dense, BM25) scored rankings fused by `fusion`."""
    weights = (fusion.dense_weight, 1.0 - fusion.dense_weight)
    if fusion.method == "rrf":
        return fuse([rows for rows, _ in pair], weights, fusion.k, depth)
    return convex(pair, weights, depth)


def hybrid_system(dense: ScoredRanker, bm25: ScoredRanker, fusion: Fusion, depth: int = DEPTH) -> Ranker:
    """A Ranker: the dense and BM25 rankings of each query fused by `fusion`."""
    def rank(queries: Sequence[Query], allowed):
        return [fuse_scored(pair, fusion, depth) for pair in zip(dense.scored(queries, allowed),
                                                                  bm25.scored(queries, allowed))]
    return rank


# Fewer tuning questions than this and the hybrid is not tuned: a weight chosen on a handful of questions
# is noise (the SE of a per-question mean of R@1 and MAP is ~0.04 at 100), and on 13 dev questions of 20
# full papers the choice leaned to BM25 and the hybrid fell below both parts at paper scope (issue #29).
MIN_TUNING_QUESTIONS = 100
# What such a hybrid uses: convex w 0.5. Untuned, with the base MiniLM (docs/fusion_scopes.md), it is the
# safer of the two fusions: 0.014 R@1 below the better part at paper scope and 0.052 below BM25 on covidqa,
# where equal-weight RRF ties the encoder at paper scope but falls 0.141 below BM25 on covidqa.
UNTUNED = Fusion("convex", 0.5)

RULES = ("one_se", "argmax")
DENSE_WEIGHTS = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)


def fusion_grid(methods: Sequence[str] = ("convex",), weights: Sequence[float] = DENSE_WEIGHTS,
                rrf_ks: Sequence[int] = (10, 30, 60, 100)) -> list[Fusion]:
    """The fusions `tune_fusion` tries. By default the convex weights only: one knob is what ~100 dev
    questions can choose without fitting their noise (RRF's extra k made the dev choice worse on test)."""
    return [Fusion(m, w, k) for m in methods for w in weights for k in (rrf_ks if m == "rrf" else (60,))]


def tune_fusion(dense: Sequence[tuple[np.ndarray, np.ndarray]], bm25: Sequence[tuple[np.ndarray, np.ndarray]],
                score: Callable[[list[np.ndarray]], np.ndarray], grid: Sequence[Fusion] | None = None,
                rule: str = "one_se") -> tuple[Fusion, float]:
    """The fusion to ship, chosen on the dev questions (`dense`, `bm25`: their scored rankings; `score`:
    fused rankings -> one value per question, higher is better). Returns it and its mean score.

    A one-standard-error rule (Breiman et al. 1984; Hastie et al., ESL 7.10): of the proper mixtures
    (0 < w < 1) whose mean is within one paired standard error of the best grid point, the one nearest the
    system that is better alone on dev. ~100 dev questions cannot tell neighbouring weights apart, and a
    hybrid that leans on the stronger system cannot fall far below it, which is what users compare it
    with (COVID-QA: the plain argmax put w = 0.5-0.6 on a weak encoder and lost to BM25 on test). If no
    mixture is within reach of the best, the best grid point wins (it may be one system alone).
    `rule="argmax"` takes the best grid point outright (the choice before; bench/fusion.py compares them)."""
    if rule not in RULES:
        raise ValueError(f"fusion rule must be one of {RULES}, got {rule!r}")
    grid = list(grid or fusion_grid())
    values = [np.asarray(score([fuse_scored(pair, f) for pair in zip(dense, bm25)]), dtype=np.float64)
              for f in grid]
    means = [float(v.mean()) for v in values]
    best = int(np.argmax(means))  # first of equals: ties go to the earlier grid point
    n = len(values[best])
    if rule == "argmax":
        return grid[best], means[best]

    def within_reach(i: int) -> bool:
        se = float(np.std(values[i] - values[best], ddof=1) / np.sqrt(n)) if n > 1 else 0.0
        return means[i] >= means[best] - se - 1e-12

    dense_alone, bm25_alone = (float(np.mean(score([rows for rows, _ in lists]))) for lists in (dense, bm25))
    lean = 1.0 if dense_alone > bm25_alone else 0.0
    mixtures = [i for i, f in enumerate(grid) if 0.0 < f.dense_weight < 1.0 and within_reach(i)]
    if not mixtures:
        return grid[best], means[best]
    chosen = min(mixtures, key=lambda i: (abs(grid[i].dense_weight - lean), -means[i]))
    return grid[chosen], means[chosen]
