"""Retrieval metrics against gold evidence passages (binary relevance), under the names the field uses
(BEIR, MTEB, sentence-transformers' InformationRetrievalEvaluator):

- success@k (hit rate, accuracy@k): 1 if any gold passage is in the top k. success@1 is what QA-retrieval
  papers, the UAE paper and the design's reference figures call "Recall@1".
- recall@k: the share of the question's gold passages found in the top k.
- MAP: average precision over the gold set; gold passages missing from the ranking count as misses (so
  it is comparable across ranking depths only up to that truncation).
- MRR@10: 1 / rank of the first gold passage within 10. nDCG@10: binary gains.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

import numpy as np

METRICS = ("success@1", "success@5", "recall@5", "recall@20", "map", "mrr@10", "ndcg@10")


def query_metrics(ranking: Sequence[str], gold: Iterable[str]) -> dict[str, float]:
    gold = set(gold)
    if not gold:
        raise ValueError("a query without gold passages cannot be scored")
    hits = [pid in gold for pid in ranking]
    out = {f"success@{k}": float(any(hits[:k])) for k in (1, 5)}
    out.update({f"recall@{k}": sum(hits[:k]) / len(gold) for k in (5, 20)})
    found, precision_sum = 0, 0.0
    for rank, hit in enumerate(hits, start=1):
        if hit:
            found += 1
            precision_sum += found / rank
    out["map"] = precision_sum / len(gold)
    first = next((r for r, h in enumerate(hits[:10], start=1) if h), None)
    out["mrr@10"] = 1.0 / first if first else 0.0
    dcg = sum(1.0 / math.log2(r + 1) for r, h in enumerate(hits[:10], start=1) if h)
    ideal = sum(1.0 / math.log2(r + 1) for r in range(1, min(len(gold), 10) + 1))
    out["ndcg@10"] = dcg / ideal
    return out


def per_query_table(rankings: Sequence[Sequence[str]], golds: Sequence[Iterable[str]]) -> dict[str, np.ndarray]:
    """metric -> array over queries (kept per query for paired comparisons between systems)."""
    rows = [query_metrics(r, g) for r, g in zip(rankings, golds)]
    return {m: np.array([row[m] for row in rows], dtype=np.float64) for m in METRICS}


def mean_metrics(rankings: Sequence[Sequence[str]], golds: Sequence[Iterable[str]]) -> dict[str, float]:
    return {m: float(v.mean()) if len(v) else float("nan") for m, v in per_query_table(rankings, golds).items()}
