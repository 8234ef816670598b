"""LLM re-ranking (UPR, Sachan et al. 2022): re-order a first-stage top-n by the teacher's log p(question | passage).

This is the expensive system UAE is meant to replace: the teacher reads every (question, passage) pair at
query time. It cannot see the answer then, so it scores how well the passage explains the question.
The passage gets the same token budget as in labeling; passages below the re-ranked depth keep their order.

Example (any Teacher works; a first-stage ranker is any `evaluation.Ranker`):
    upr = rerank_system(dense_system(base, index), upr_teacher(Teacher()), passages, depth=20)
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from uae_core.qasper import Passage, Query
from uae_core.teacher import ScoreRequest, Teacher

UPR_PROMPT = "Passage: {passage}\nPlease write a question based on this passage.\nQuestion:"


def upr_teacher(teacher: Teacher, batch_size: int = 20) -> Teacher:
    """The labeling teacher with the UPR prompt (the question is the scored target), sharing its weights."""
    return teacher.with_config(prompt_with_context=UPR_PROMPT, max_answer_tokens=teacher.config.max_question_tokens,
                               batch_size=batch_size)


def rerank(teacher: Teacher, query: Query, candidates: np.ndarray, passages: Sequence[Passage]) -> np.ndarray:
    """`candidates` (passage rows) sorted by mean log p(question tokens | passage), best first; stable on ties."""
    if len(candidates) == 0:
        return candidates
    scores = teacher.score([ScoreRequest("", query.question, passages[r].text) for r in candidates])
    order = np.argsort([-ll for ll, _ in scores], kind="stable")
    return np.asarray(candidates)[order]


def rerank_system(first_stage, teacher: Teacher, passages: Sequence[Passage], depth: int = 20):
    """A Ranker: the first stage's ranking with its top `depth` re-ordered by the teacher."""
    def rank(queries: Sequence[Query], allowed):
        out = []
        for query, row in zip(queries, first_stage(queries, allowed)):
            out.append(np.concatenate([rerank(teacher, query, row[:depth], passages), row[depth:]]))
        return out
    return rank
