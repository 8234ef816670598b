"""What the teacher scores for a question: its reference answers under the answer policy, or (for a
question without any) the question itself, and a hash of those texts so edited inputs are relabeled."""

from __future__ import annotations

import hashlib
from typing import get_args

from uae_core.data import Query
from uae_core.labeling.teacher import AnswerPolicy, ScoreRequest, TeacherConfig

ANSWER_POLICIES = get_args(AnswerPolicy)


def answers_for(query: Query, policy: str) -> list[str]:
    """The reference answers the teacher scores: the "first" annotator's or all of them ("average");
    the "_extractive" variants take the annotator's extractive spans where given (else the answer)."""
    if policy not in ANSWER_POLICIES:
        raise ValueError(f"answer_policy must be one of {ANSWER_POLICIES}, got {policy!r}")
    answers = list(query.answers)
    if policy.endswith("_extractive"):
        answers = [e or a for e, a in zip(query.extractive_answers, query.answers)]
    return answers[:1] if policy.startswith("first") else answers


def requests_for(query: Query, passage: str | None, config: TeacherConfig) -> list[ScoreRequest]:
    """The teacher requests whose mean is this (query, passage)'s log-likelihood; [] = not labelable."""
    answers = answers_for(query, config.answer_policy)
    if answers:
        return [ScoreRequest("answer", query.question, a, passage) for a in answers]
    if config.without_answers == "question_likelihood":
        return [ScoreRequest("question", query.question, passage=passage)]
    return []


def input_sha(query: Query, config: TeacherConfig, passage: str | None) -> str:
    """Hash of the texts the teacher scores for this key: question, answers used, passage."""
    answers = answers_for(query, config.answer_policy)
    payload = "\x00".join([query.question, *answers, passage or ""])
    return hashlib.sha1(payload.encode()).hexdigest()[:16]
