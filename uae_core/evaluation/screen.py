"""Scoring candidate models on a pool of passages instead of the whole corpus, to choose among them.

Choosing the merge share (training.merge) scores every share's model on the dev split, at one whole-corpus
encode each: ~2.7 min a share for 6k passages on a 2-core CPU, 20-30 min for 50k. A dev question's rank of its
gold only depends on the passages a model puts above it, and those are nearly all among what BM25 or the base
encoder already put near the top. So the shares can be scored on a pool: for each dev question with gold,
its gold passages and the top `top` of BM25 and of the base encoder (at document scope: the dev questions'
documents, which is exact). The kept share is then scored on the whole corpus (that encode is the index's,
cached), so the metrics logged, promoted on and reported stay whole-corpus ones.

The pool pays only where it is small against the corpus: ~13 passages a dev question at top 20, which is
73 % of qasper's 3k passages (75 % of their characters), 36 % of covidqa's (43 %), 55 % of the 6k mixed
domain's (62 %) (docs/merge_screen.md), so two shares on it would cost about as much as the encode they
save. `worth_screening` uses it only where scoring every share on it costs at most half a corpus encode:
large corpora, or a small dev split.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from uae_core.data import Passage, Query
from uae_core.retrieval.ranking import normalize_scope

SCREEN_TOP = 20  # per dev question, from each of BM25 and the base encoder (docs/merge_screen.md)
POOL_PER_QUESTION = 13  # passages a dev question adds to the pool at top 20 (qasper 13.0, mixed 12.6, covidqa 11.3)
MAX_POOL_COST = 0.5  # screen only where every share on the pool costs at most this share of a corpus encode


def dev_questions(queries: Sequence[Query], split: str = "dev") -> list[Query]:
    """The split's questions with gold: the ones a model is scored on."""
    return [q for q in queries if q.split == split and q.gold_passage_ids]


def worth_screening(pool_cost: float, corpus_cost: float, shares: int) -> bool:
    """Whether scoring `shares` models on a pool that costs `pool_cost` to encode saves at least half a corpus
    encode over scoring them on the whole corpus (where the kept one is encoded anyway); costs in one unit."""
    return shares > 1 and pool_cost > 0 and shares * pool_cost <= MAX_POOL_COST * corpus_cost


def encode_cost(passages: Sequence[Passage]) -> int:
    """What encoding the passages costs, in characters up to 1,024 a passage (~256 tokens: the student reads
    no further). The pool's passages are longer than most: 43 % of covidqa's characters in 36 % of its passages."""
    return sum(min(len(p.text), 1024) for p in passages)


def expected_pool_size(passages: Sequence[Passage], queries: Sequence[Query], scope: str) -> int:
    """The pool's size before it is built (no encoder at hand: the run's estimate): exact at document scope,
    POOL_PER_QUESTION a dev question at corpus scope."""
    evaluated = dev_questions(queries)
    if normalize_scope(scope) == "document":
        documents = {q.doc_id for q in evaluated}
        return sum(p.doc_id in documents for p in passages)
    return min(len(passages), POOL_PER_QUESTION * len(evaluated))


def merge_pool(passages: Sequence[Passage], queries: Sequence[Query], scope: str, base_model,
               cache_dir: str | Path, shares: int) -> list[Passage]:
    """The pool to score `shares` merge shares on, or [] where it would not pay (worth_screening): then each
    share is scored on the whole corpus. Not built where its expected size already says it would not pay."""
    if not worth_screening(expected_pool_size(passages, queries, scope), len(passages), shares):
        return []
    pool = screening_pool(passages, queries, scope, base_model, cache_dir)
    return pool if worth_screening(encode_cost(pool), encode_cost(passages), shares) else []


def describe_pool(scope: str, top: int = SCREEN_TOP) -> str:
    """What the pool is made of, for a log line."""
    if normalize_scope(scope) == "document":
        return "the dev questions' documents"
    return f"the dev questions' gold and top {top} by BM25 and by the base encoder"


def screening_pool(passages: Sequence[Passage], queries: Sequence[Query], scope: str, base_model,
                   cache_dir: str | Path, top: int = SCREEN_TOP, split: str = "dev") -> list[Passage]:
    """The passages (in corpus order) that the split's questions are scored against; [] without such
    questions. The base encoder's corpus embeddings come from `cache_dir` (candidate_sets wrote them)."""
    evaluated = dev_questions(queries, split)
    if not evaluated:
        return []
    if normalize_scope(scope) == "document":
        documents = {q.doc_id for q in evaluated}
        return [p for p in passages if p.doc_id in documents]
    from uae_core.retrieval.bm25 import BM25Index  # imported here, as the encoder: the estimate needs neither
    from uae_core.retrieval.encoder import cached_encode, encode
    from uae_core.retrieval.index import exact_search
    from uae_core.retrieval.ranking import bm25_rank

    rows = {i for i, p in enumerate(passages) if p.passage_id in {g for q in evaluated for g in q.gold_passage_ids}}
    for ranking in bm25_rank(BM25Index([p.text for p in passages]), evaluated, top, None):
        rows.update(int(r) for r in ranking)
    corpus = cached_encode(base_model, [p.text for p in passages], cache_dir)
    for ranking in exact_search(corpus, encode(base_model, [q.question for q in evaluated]), top):
        rows.update(int(r) for r in ranking)
    return [passages[r] for r in sorted(rows)]


def screen_metrics(model, pool: Sequence[Passage], queries: Sequence[Query], scope: str, cache_dir: str | Path,
                   split: str = "dev") -> dict[str, float]:
    """A dense encoder's metrics on the split's questions, ranking within `pool` only; {} for an empty pool."""
    from uae_core.evaluation.compare import split_metrics

    return split_metrics(model, list(pool), queries, scope, cache_dir, split) if pool else {}
