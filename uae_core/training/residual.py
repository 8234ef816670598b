"""BM25-residual question weights (CLEAR, Gao et al. 2021, adapted to utility labels): the served retriever is
the hybrid with BM25, so a question whose most useful candidate BM25 already ranks at the top needs less of
the student than one where BM25 misses it.

Per training question, d+ is its candidate with the highest teacher utility and b+ in [0, 1] BM25's min-max
share of d+ in the question's scope (fusion.lexical_shares: 1 for BM25's top passage, 0 outside its top
POOL). Its weight is
    w = floor + (1 - floor) * (1 - b+),
divided by the mean over the training questions, so the loss keeps its scale. floor = 1 weighs every
question the same (the design's objective).
"""

from __future__ import annotations

from collections.abc import Sequence

from uae_core.labeling.candidates import CandidateSet


def residual_weights(passages: Sequence, queries: Sequence, candidate_sets: Sequence[CandidateSet],
                     utilities: dict[str, dict[str, float]], scope: str, floor: float) -> dict[str, float]:
    """{question id: weight} for the labeled candidate sets; {} when floor >= 1 (nothing to compute)."""
    if floor >= 1:
        return {}
    from uae_core.retrieval.bm25 import BM25Index
    from uae_core.retrieval.fusion import lexical_shares

    best = {}
    for c in candidate_sets:
        labels = utilities.get(c.query_id, {})
        labeled = [p for p in c.passage_ids if p in labels]
        if labeled:
            best[c.query_id] = max(labeled, key=lambda p: labels[p])
    if not best:
        return {}
    shares = lexical_shares(BM25Index([p.text for p in passages]), passages,
                            [q for q in queries if q.query_id in best], scope)
    raw = {qid: floor + (1 - floor) * (1 - shares.get(qid, {}).get(pid, 0.0)) for qid, pid in best.items()}
    mean = sum(raw.values()) / len(raw)
    return {qid: w / mean for qid, w in raw.items()}
