"""A domain's steps, one function each: what the Dagster assets run and what every benchmark calls.

    step        function                                       asset             benchmarks
    candidates  labeling.candidates.build_sticky               candidate_sets    bench.results (prepare),
                                                                                 bench.answerless, bench.weight_merge
    labels      labeling.shards.label_pairs (plan_work,        utility_labels    bench.results (prepare),
                label_work, merge_shards in one process)       (the same three   bench.answerless, bench.weight_merge
                                                               as its steps)
    train       training.merge.train_and_merge, or             uae_encoder       bench.results (train_one),
                tracking.distill.distill (the same, tracked)   (distill)         bench.answerless, bench.weight_merge,
                                                                                 bench.fusion_tuning
    retriever   build_retriever (below)                        faiss_index       bench.results (DomainEval)
    evaluate    evaluation.compare.compare (run_system,        eval_report       bench.results (answers)
                answer_f1)

A benchmark that measures a variant (K, sources, seeds, training settings) passes its config to the same
function; none carries a copy of a step. This module imports neither Dagster nor MLflow (distill does: import
it from uae_core.tracking.distill where tracking is wanted).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from uae_core.data import Passage, Query
from uae_core.evaluation.compare import compare, tune_hybrid, tuning_questions
from uae_core.labeling.candidates import build_sticky
from uae_core.labeling.shards import label_pairs
from uae_core.retrieval.bm25 import BM25Index
from uae_core.retrieval.encoder import cached_encode
from uae_core.retrieval.fusion import Fusion, hybrid_system
from uae_core.retrieval.index import build_index
from uae_core.retrieval.systems import Ranker, ScoredRanker, bm25_system, dense_system
from uae_core.training.merge import train_and_merge

__all__ = ["BuiltRetriever", "build_retriever", "build_sticky", "compare", "label_pairs", "train_and_merge"]


@dataclass
class BuiltRetriever:
    """A student's retriever over a domain's passages, before it is saved (retrieval.retriever.save_retriever):
    its embeddings, the dense and BM25 systems, and the hybrid's fusion chosen on `tuning` questions."""

    embeddings: np.ndarray
    bm25_index: BM25Index
    dense: ScoredRanker
    bm25: ScoredRanker
    fusion: Fusion
    dev_score: float  # the fusion's tuning score (mean of Recall@1 and MAP), nan without tuning questions
    tuning: list[Query] = field(default_factory=list)  # the questions the fusion was chosen on

    @property
    def hybrid(self) -> Ranker:
        return hybrid_system(self.dense, self.bm25, self.fusion)


def build_retriever(model, passages: Sequence[Passage], queries: Sequence[Query], scope: str,
                    trained: Collection[str] | None, cache_dir: str | Path, bm25: BM25Index | None = None,
                    show_progress: bool = False) -> BuiltRetriever:
    """Embed every passage with `model` (cached), index them (exact inner product) beside BM25 (`bm25`, or a
    new index of the passages), and choose the hybrid's fusion with tune_hybrid on tuning_questions(queries,
    trained): the dev split plus, given the trained question ids, the train questions of documents none of
    them came from."""
    embeddings = cached_encode(model, [p.text for p in passages], cache_dir, show_progress=show_progress)
    bm25 = bm25 or BM25Index([p.text for p in passages])
    dense, sparse = dense_system(model, build_index(embeddings)), bm25_system(passages, bm25)
    fusion, dev_score = tune_hybrid(dense, sparse, passages, queries, scope, trained=trained)
    return BuiltRetriever(embeddings, bm25, dense, sparse, fusion, dev_score, tuning_questions(queries, trained))
