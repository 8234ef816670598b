"""LLM re-ranking (UPR, Sachan et al. 2022): re-order a first-stage top-n by the teacher's log p(question | passage).

This is the expensive system UAE is meant to replace: the teacher reads every (question, passage) pair at
query time. It cannot see the answer then, so it scores how well the passage explains the question
(the teacher's question prompt). Passages below the re-ranked depth keep their order.

Example (any teacher backend; a first stage is any `systems.Ranker`):
    upr = rerank_system(dense_system(base, index), load_teacher(), passages, depth=20)
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from uae_core.data import Passage, Query
from uae_core.labeling.teacher import Scorer, ScoreRequest
from uae_core.retrieval.systems import Ranker


def rerank(teacher: Scorer, query: Query, candidates: np.ndarray, passages: Sequence[Passage]) -> np.ndarray:
    """`candidates` (passage rows) sorted by mean log p(question tokens | passage), best first; stable on ties."""
    if len(candidates) == 0:
        return candidates
    scores = teacher.score([ScoreRequest("question", query.question, passage=passages[r].text) for r in candidates])
    order = np.argsort([-ll for ll, _ in scores], kind="stable")
    return np.asarray(candidates)[order]


def rerank_system(first_stage: Ranker, teacher: Scorer, passages: Sequence[Passage], depth: int = 20) -> Ranker:
    """A Ranker: the first stage's ranking with its top `depth` re-ordered by the teacher."""
    def rank(queries: Sequence[Query], allowed):
        return [np.concatenate([rerank(teacher, query, row[:depth], passages), row[depth:]])
                for query, row in zip(queries, first_stage(queries, allowed))]
    return rank
