"""Candidate sets: the K passages per training query that the teacher will label.

Candidates are the union of what existing retrievers (BM25 and the base encoder) put on top, merged
round-robin, inside the query's scope. Their quality bounds what distillation can learn: a useful passage
that no retriever surfaces is never labeled. `gold_recall` says how often gold evidence made it in.
Where a domain has gold evidence, the `gold` source adds it to the set: the teacher still scores it like
any other candidate, so utility (not the annotation) decides how much it counts.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from uae_core.qasper import Passage, Query, hash_order
from uae_core.retrieval import Scope, bm25_rank, dense_rank, merge_rankings, scope_rows


@dataclass(frozen=True)
class CandidateSet:
    query_id: str
    passage_ids: tuple[str, ...]


def build_candidate_sets(passages: Sequence[Passage], queries: Sequence[Query], k: int, scope: Scope,
                         passage_emb: np.ndarray | None, query_emb: np.ndarray | None,
                         sources: Sequence[str] = ("bm25", "dense")) -> list[CandidateSet]:
    """Top-k merged candidates per query. `passage_emb`/`query_emb` come from the base encoder."""
    allowed = scope_rows(passages, queries, scope)
    rankings: list[list[np.ndarray]] = []
    for source in sources:
        if source == "gold":
            row_of = {p.passage_id: i for i, p in enumerate(passages)}
            rankings.append([np.array([row_of[g] for g in q.gold_passage_ids if g in row_of], dtype=np.int64)
                             for q in queries])
        elif source == "bm25":
            from uae_core.bm25 import BM25Index  # here: the rest of this module needs no bm25s

            rankings.append(bm25_rank(BM25Index([p.text for p in passages]), queries, k, allowed))
        elif source == "dense":
            if passage_emb is None or query_emb is None:
                raise ValueError("the dense candidate source needs base-encoder embeddings")
            rankings.append(dense_rank(passage_emb, query_emb, k, allowed))
        else:
            raise ValueError(f"unknown candidate source {source!r}; use 'bm25', 'dense' and/or 'gold'")
    out = []
    for i, q in enumerate(queries):
        rows = merge_rankings([r[i] for r in rankings], k)
        out.append(CandidateSet(q.query_id, tuple(passages[r].passage_id for r in rows)))
    return out


def text_sha(text: str) -> str:
    return hashlib.sha1(text.encode()).hexdigest()[:16]


def snapshot(candidate_sets: Sequence[CandidateSet], queries: dict[str, Query], passages: dict[str, Passage]
             ) -> dict:
    """What a later run needs to decide whether a set is still valid: the texts it was built from."""
    return {c.query_id: {"question": text_sha(queries[c.query_id].question),
                         "passages": [[pid, text_sha(passages[pid].text)] for pid in c.passage_ids]}
            for c in candidate_sets}


def still_valid(previous: dict, queries: Sequence[Query], passages: dict[str, Passage]) -> dict[str, CandidateSet]:
    """Sets from `previous` (a snapshot) whose question and every passage are unchanged.

    Candidate sets are sticky: when papers are added to a domain, an existing question keeps its labeled
    candidates instead of letting new passages displace some of them (in corpus scope that churn alone
    relabels about as many pairs as the new papers bring). New and changed questions get fresh sets.
    """
    kept = {}
    for q in queries:
        old = previous.get(q.query_id)
        if old is None or old["question"] != text_sha(q.question):
            continue
        if all(pid in passages and text_sha(passages[pid].text) == sha for pid, sha in old["passages"]):
            kept[q.query_id] = CandidateSet(q.query_id, tuple(pid for pid, _ in old["passages"]))
    return kept


def select_train_queries(queries: Sequence[Query], cap: int) -> list[Query]:
    """The train split in a fixed pseudo-random order (spread over papers, stable when papers are added),
    capped at `cap` (0 = all)."""
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
