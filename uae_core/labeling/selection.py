"""Which candidate pairs the teacher labels this round: a budget of pairs, spent where a policy says.

Teacher calls are the whole training cost, and labels differ a lot in worth. A round (one materialization of
utility_labels) keeps every pair already labeled, and buys the unlabeled pairs of the questions the policy
ranks first, until `round_pairs` is spent; the next round ranks what is left with the new champion. Nothing
is relabeled. The policies decide before the teacher is asked:

    all           every candidate pair (no budget; what a run did before rounds)
    random        questions in a fixed pseudo-random order (the order `max_train_queries` takes them in)
    disagreement  BM25 and the encoder disagree on the question's top passages (query by committee): the
                  share of BM25's top 10 missing from the encoder's top 10, largest first
    margin        the encoder is unsure between the set's two best candidates: the smallest gap between
                  its top two cosine scores first

The encoder is the domain's champion where it has one, else the base encoder. docs/active_labeling.md
measures them (learning curves against teacher pairs).
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Sequence
from dataclasses import dataclass

import numpy as np

from uae_core.data import Passage, Query
from uae_core.labeling.candidates import CandidateSet
from uae_core.validation import require, require_choice

POLICIES = ("all", "random", "disagreement", "margin")
INFORMED = ("disagreement", "margin")  # the policies that need the encoder
COMMITTEE_DEPTH = 10  # top passages BM25 and the encoder compare under `disagreement`


@dataclass(frozen=True)
class SelectionConfig:
    """Which candidate pairs a round of utility_labels asks the teacher about.

    Attributes:
        policy: `all` (every candidate pair), `random`, `disagreement` (BM25 and the encoder disagree) or
            `margin` (the encoder is unsure between its top two): the order in which questions get their
            pairs labeled, decided before the teacher is asked; the encoder is the champion, else the base.
        round_pairs: new teacher pairs per round (one materialization); pairs labeled by earlier rounds are
            kept and count for nothing. 0 = no budget (only with `all`).
    """

    policy: str = "all"
    round_pairs: int = 0

    def __post_init__(self) -> None:
        me = "SelectionConfig"
        require_choice(self.policy, POLICIES, me, "policy")
        require(self.round_pairs >= 0, me, "round_pairs", f"must be >= 0 (0 = no budget), got {self.round_pairs}")
        require(self.policy == "all" or self.round_pairs > 0, me, "round_pairs",
                f"policy {self.policy!r} chooses within a round's budget: set round_pairs (teacher pairs per round)")


@dataclass(frozen=True)
class Selection:
    sets: list[CandidateSet]  # what this round labels and trains on, in the pool's order
    chosen: int  # questions whose unlabeled pairs this round buys
    new_pairs: int  # pairs the teacher is asked this round (at most round_pairs)
    kept_pairs: int  # pairs labeled by earlier rounds, kept
    waiting: int  # questions with unlabeled pairs left for later rounds

    def describe(self, policy: str) -> str:
        return (f"{policy}: {self.new_pairs} new pairs for {self.chosen} questions, {self.kept_pairs} kept from "
                f"earlier rounds, {self.waiting} questions left for later rounds")


def unlabeled(candidate_set: CandidateSet, labeled: Collection[tuple[str, str]]) -> tuple[str, ...]:
    return tuple(p for p in candidate_set.passage_ids if (candidate_set.query_id, p) not in labeled)


def select_round(sets: Sequence[CandidateSet], labeled: Collection[tuple[str, str]], ranking: Sequence[str],
                 round_pairs: int) -> Selection:
    """Keep every labeled pair; add the unlabeled pairs of the questions in `ranking` order while they fit in
    `round_pairs` (a question whose pairs do not fit is skipped, a cheaper one after it may fit)."""
    todo = {c.query_id: unlabeled(c, labeled) for c in sets}
    chosen, spent = set(), 0
    for qid in ranking:
        cost = len(todo.get(qid, ()))
        if cost and spent + cost <= round_pairs:
            chosen.add(qid)
            spent += cost
    out, kept = [], 0
    for c in sets:
        if c.query_id in chosen:
            out.append(c)
            kept += len(c.passage_ids) - len(todo[c.query_id])
        else:
            have = tuple(p for p in c.passage_ids if p not in todo[c.query_id])
            if have:
                out.append(CandidateSet(c.query_id, have))
                kept += len(have)
    waiting = sum(1 for qid, pairs in todo.items() if pairs and qid not in chosen)
    return Selection(out, len(chosen), spent, kept, waiting)


def random_order(query_ids: Sequence[str]) -> list[str]:
    """The fixed pseudo-random order of `select_train_queries` (a hash of the id)."""
    return sorted(query_ids, key=lambda q: hashlib.sha1(q.encode()).hexdigest())


def rank_questions(policy: str, sets: Sequence[CandidateSet], passages: Sequence[Passage],
                   queries: Sequence[Query], scope: str, encoder=None, cache_dir=None) -> list[str]:
    """The questions of `sets`, most worth labeling first under `policy` (ties in random order). The
    informed policies need `encoder` (a sentence-transformers model) and embed the passages once (cached
    in `cache_dir` by the encoder's weights)."""
    ids = random_order([c.query_id for c in sets])
    if policy in ("all", "random"):
        return ids
    if encoder is None:
        raise ValueError(f"the {policy!r} policy needs an encoder (the champion, or the base encoder)")
    from uae_core.retrieval.encoder import cached_encode, encode

    by_id = {q.query_id: q for q in queries}
    asked = [by_id[q] for q in ids]
    passage_emb = cached_encode(encoder, [p.text for p in passages], cache_dir)
    query_emb = encode(encoder, [q.question for q in asked])
    if policy == "disagreement":
        worth = disagreement(passages, asked, passage_emb, query_emb, scope)
    else:
        set_of = {c.query_id: c for c in sets}
        worth = -margins([set_of[q.query_id] for q in asked], passages,
                         passage_emb, query_emb)
    order = np.argsort(-worth, kind="stable")  # stable: ties keep the random order
    return [ids[i] for i in order]


def disagreement(passages: Sequence[Passage], queries: Sequence[Query], passage_emb: np.ndarray,
                 query_emb: np.ndarray, scope: str, depth: int = COMMITTEE_DEPTH) -> np.ndarray:
    """Per question, the share of BM25's top `depth` passages (in scope) missing from the encoder's."""
    from uae_core.retrieval.bm25 import BM25Index
    from uae_core.retrieval.ranking import bm25_rank, dense_rank, scope_rows

    allowed = scope_rows(passages, queries, scope)
    lexical = bm25_rank(BM25Index([p.text for p in passages]), queries, depth, allowed)
    dense = dense_rank(passage_emb, query_emb, depth, allowed)
    out = []
    for b, d in zip(lexical, dense):
        b = [int(r) for r in b if r >= 0]
        out.append(len(set(b) - {int(r) for r in d}) / len(b) if b else 0.0)
    return np.array(out)


def margins(sets: Sequence[CandidateSet], passages: Sequence[Passage], passage_emb: np.ndarray,
            query_emb: np.ndarray) -> np.ndarray:
    """Per question, the encoder's cosine gap between the two best passages of its set (inf with fewer)."""
    row = {p.passage_id: i for i, p in enumerate(passages)}
    out = []
    for c, q in zip(sets, query_emb):
        scores = np.sort(passage_emb[[row[p] for p in c.passage_ids]] @ q)[::-1]
        out.append(float(scores[0] - scores[1]) if len(scores) > 1 else np.inf)
    return np.array(out)
