"""Candidate sets: the K passages per training question that the teacher will label.

Candidates are the union of what existing retrievers (BM25 and the base encoder) put on top, merged
round-robin, inside the question's scope. Their quality bounds what distillation can learn: a useful
passage that no retriever surfaces is never labeled. `gold_recall` says how often gold evidence made it
in. Where a domain has gold evidence, the `gold` source adds it to the set: the teacher still scores it
like any other candidate, so utility (not the annotation) decides how much it counts.

Sets are sticky (`build_sticky`): when documents are added to a domain, an existing question keeps its
labeled candidates instead of letting new passages displace some of them (in corpus scope that churn
alone relabels about as many pairs as the new documents bring). New and changed questions get new sets.

Re-distillation rounds (`champion` source): on top of each sticky set, the domain's current champion adds
its own top-k passages that the set lacks: where the champion now ranks a passage high, the teacher says
whether it helps (a hard negative if not). Only those pairs are new to the teacher; a new champion mines
again, and the base sets stay as they were.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, get_args

import numpy as np

from uae_core.data import Passage, Query, hash_order
from uae_core.retrieval.encoder import cached_encode, encode, weights_digest
from uae_core.retrieval.ranking import bm25_rank, dense_rank, merge_rankings, scope_rows
from uae_core.validation import require, require_choice, require_finite

Source = Literal["bm25", "dense", "champion", "gold"]


@dataclass(frozen=True)
class CandidateSet:
    query_id: str
    passage_ids: tuple[str, ...]


@dataclass(frozen=True)
class CandidateConfig:
    """Which passages the teacher is asked about.

    Attributes:
        k: candidates per question (merged round-robin from the sources, without duplicates). 2 by
            default: at the main command's 800 pairs, 400 questions x 2 beat 200 x 4 on qasper dev and
            test (3 seeds each, docs/yes_no.md); more questions, not more candidates, is what helps there.
        sources: `bm25`, `dense` (the base encoder) and/or `gold` (annotated evidence, where a domain has
            it; users have none, so not a default) make each question's K candidates; `champion` adds, on
            top of them, up to k passages the domain's current champion ranks highest that the set lacks
            (none before the first champion). The re-distill schedule's rounds add `champion`.
        scope: `document` or `corpus`; empty = the domain's scope from domains.yaml.
        label_budget: pairs the teacher may label: the first label_budget // k train questions are taken
            (0 = no budget).
        max_train_queries: a cap on train questions, in a fixed pseudo-random order (0 = all); 400 keeps
            the main command's labeling at ~800 pairs on a CPU teacher.
        sticky: keep a question's previous set while its question and passages are unchanged.
    """

    k: int = 2
    sources: list[Source] = field(default_factory=lambda: ["bm25", "dense"])
    scope: str = ""
    label_budget: int = 0
    max_train_queries: int = 400
    sticky: bool = True

    def __post_init__(self) -> None:
        me = "CandidateConfig"
        require_finite(self, me)
        require(self.k >= 1, me, "k", f"must be at least 1, got {self.k}")
        require(bool(set(self.sources) - {"champion"}), me, "sources",
                "name at least one of bm25, dense, gold (champion only adds to their sets)")
        for source in self.sources:
            require_choice(source, get_args(Source), me, "sources")
        require(len(set(self.sources)) == len(self.sources), me, "sources", f"{self.sources} repeats a source")
        require(self.label_budget >= 0, me, "label_budget", f"must be >= 0 (0 = no budget), got {self.label_budget}")
        require(self.max_train_queries >= 0, me, "max_train_queries",
                f"must be >= 0 (0 = all), got {self.max_train_queries}")
        require(self.scope in ("", "document", "paper", "corpus"), me, "scope",
                f"{self.scope!r} is not one of '', 'document', 'corpus'")

    @property
    def question_cap(self) -> int:
        """Train questions to take (0 = all): the tighter of the label budget and max_train_queries."""
        caps = [c for c in (self.label_budget // self.k if self.label_budget else 0, self.max_train_queries) if c]
        return min(caps, default=0)


@dataclass(frozen=True)
class CandidateResult:
    sets: list[CandidateSet]
    kept: int  # sets reused from the previous run (sticky)
    new: int
    gold_recall: float  # share of questions with gold whose candidates hold a gold passage
    champion_mined: int = 0  # passages the champion added on top of the sets (the `champion` source)


def build_candidate_sets(passages: Sequence[Passage], queries: Sequence[Query], k: int, scope: str,
                         embeddings: dict[str, tuple[np.ndarray, np.ndarray]] | None = None,
                         sources: Sequence[str] = ("bm25", "dense")) -> list[CandidateSet]:
    """Top-k merged candidates per query. `embeddings` maps the `dense` source to the base encoder's
    (passage, query) embeddings. `champion` is not a source here: build_sticky adds its passages."""
    embeddings = embeddings or {}
    allowed = scope_rows(passages, queries, scope)
    rankings: list[list[np.ndarray]] = []
    bm25 = None
    for source in sources:
        if source == "gold":
            row_of = {p.passage_id: i for i, p in enumerate(passages)}
            rankings.append([np.array([row_of[g] for g in q.gold_passage_ids if g in row_of], dtype=np.int64)
                             for q in queries])
        elif source == "bm25":
            if bm25 is None:
                from uae_core.retrieval.bm25 import BM25Index  # here: the rest of this module needs no bm25s

                bm25 = BM25Index([p.text for p in passages])
            rankings.append(bm25_rank(bm25, queries, k, allowed))
        elif source == "dense":
            if source not in embeddings:
                raise ValueError("the dense candidate source needs base-encoder embeddings")
            rankings.append(dense_rank(*embeddings[source], k, allowed))
        else:
            raise ValueError(f"unknown candidate source {source!r}; use bm25, dense and/or gold")
    out = []
    for i, q in enumerate(queries):
        rows = merge_rankings([r[i] for r in rankings], k)
        out.append(CandidateSet(q.query_id, tuple(passages[r].passage_id for r in rows)))
    return out


def build_sticky(passages: Sequence[Passage], queries: Sequence[Query], config: CandidateConfig, scope: str,
                 base_encoder, state_path: str | Path, cache_dir: str | Path, champion=None) -> CandidateResult:
    """The candidate sets of the selected train questions, reusing still-valid sets recorded in
    `state_path` by the previous run (when `config.sticky`), and recording these for the next one.
    With the `champion` source and a `champion` (a student, or None before the first one), each set gets
    the champion's mined passages on top (mine_with_champion); the base sets stay sticky across champions."""
    state_path = Path(state_path)
    train = select_train_queries(queries, config.question_cap)
    by_id = {p.passage_id: p for p in passages}
    base_sources = [s for s in config.sources if s != "champion"]
    settings = {"k": config.k, "scope": scope, "sources": base_sources, "base": weights_digest(base_encoder)}
    previous = json.loads(state_path.read_text()) if config.sticky and state_path.is_file() else {}
    old_sets = previous.get("sets", {}) if previous.get("settings") == settings else {}
    kept = still_valid(old_sets, train, by_id)
    todo = [q for q in train if q.query_id not in kept]
    fresh: dict[str, CandidateSet] = {}
    if todo:
        embeddings = {"dense": (cached_encode(base_encoder, [p.text for p in passages], cache_dir, show_progress=True),
                                encode(base_encoder, [q.question for q in todo]))} if "dense" in base_sources else {}
        fresh = {c.query_id: c for c in build_candidate_sets(passages, todo, config.k, scope, embeddings,
                                                             base_sources)}
    sets = [kept.get(q.query_id) or fresh[q.query_id] for q in train]
    # Sets of questions that dropped out of the cap are kept too: they are reusable if they come back.
    new_state = {**old_sets, **snapshot(sets, {q.query_id: q for q in train}, by_id)}
    state_path.parent.mkdir(parents=True, exist_ok=True)
    state_path.write_text(json.dumps({"settings": settings, "sets": new_state}))
    mined = 0
    if champion is not None and "champion" in config.sources:
        sets, mined = mine_with_champion(sets, passages, train, champion, config.k, scope, cache_dir)
    return CandidateResult(sets, len(kept), len(fresh), gold_recall(sets, train), mined)


def mine_with_champion(sets: Sequence[CandidateSet], passages: Sequence[Passage], queries: Sequence[Query],
                       champion, k: int, scope: str, cache_dir: str | Path) -> tuple[list[CandidateSet], int]:
    """Each set followed by up to k of the champion's top-ranked passages it lacks (in the champion's
    order), and how many passages were added. Embeddings are cached by the champion's weights."""
    allowed = scope_rows(passages, queries, scope)
    ranked = dense_rank(cached_encode(champion, [p.text for p in passages], cache_dir, show_progress=True),
                        encode(champion, [q.question for q in queries]), 2 * k, allowed)
    out, added = [], 0
    for c, rows in zip(sets, ranked):
        new = [pid for pid in (passages[r].passage_id for r in rows) if pid not in c.passage_ids][:k]
        added += len(new)
        out.append(CandidateSet(c.query_id, c.passage_ids + tuple(new)))
    return out, added


def text_sha(text: str) -> str:
    return hashlib.sha1(text.encode()).hexdigest()[:16]


def snapshot(candidate_sets: Sequence[CandidateSet], queries: dict[str, Query], passages: dict[str, Passage]
             ) -> dict:
    """What a later run needs to decide whether a set is still valid: the texts it was built from."""
    return {c.query_id: {"question": text_sha(queries[c.query_id].question),
                         "passages": [[pid, text_sha(passages[pid].text)] for pid in c.passage_ids]}
            for c in candidate_sets}


def still_valid(previous: dict, queries: Sequence[Query], passages: dict[str, Passage]) -> dict[str, CandidateSet]:
    """Sets from `previous` (a snapshot) whose question and every passage are unchanged."""
    kept = {}
    for q in queries:
        old = previous.get(q.query_id)
        if old is None or old["question"] != text_sha(q.question):
            continue
        if all(pid in passages and text_sha(passages[pid].text) == sha for pid, sha in old["passages"]):
            kept[q.query_id] = CandidateSet(q.query_id, tuple(pid for pid, _ in old["passages"]))
    return kept


def select_train_queries(queries: Sequence[Query], cap: int) -> list[Query]:
    """The train split in a fixed pseudo-random order (spread over documents, stable when documents are
    added), capped at `cap` (0 = all)."""
    train = hash_order(q for q in queries if q.split == "train")
    return train[:cap] if cap > 0 else train


def gold_recall(candidate_sets: Sequence[CandidateSet], queries: Sequence[Query]) -> float:
    """Fraction of queries with gold evidence whose candidates contain at least one gold passage."""
    by_id = {q.query_id: q for q in queries}
    with_gold = [c for c in candidate_sets if by_id[c.query_id].gold_passage_ids]
    if not with_gold:
        return float("nan")
    hits = sum(bool(set(c.passage_ids) & set(by_id[c.query_id].gold_passage_ids)) for c in with_gold)
    return hits / len(with_gold)


def teacher_top_is_gold(utilities: dict[str, dict[str, float]], queries: dict[str, Query]) -> dict[str, bool]:
    """Per question whose labeled candidates hold gold evidence: is the teacher's most useful one gold? (How
    close the teacher's signal is to hard labels; the first of tied candidates counts.)"""
    out = {}
    for qid, u in utilities.items():
        gold = set(queries[qid].gold_passage_ids)
        if u and gold & set(u):
            out[qid] = max(u, key=u.get) in gold
    return out
