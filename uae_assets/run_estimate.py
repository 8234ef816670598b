"""How long a `uae materialize` run will take: an estimate per asset from the domain's sizes (passages,
train questions, K, training steps) and the rates measured on this project's 2-core CPU, printed when the
run starts; while it runs, `RunClock` gives the time left for the whole run after each step, scaled by how
the finished steps compared with their estimates (a busier or faster machine shows within a step or two).

It is an upper bound for a first run: labels already in DuckDB, a reused registered model and cached
embeddings make re-runs faster. The rates and the run they come from: docs/run_estimate.md.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

# Measured on this project's 2-core CPU: the main command from a fresh clone (docs/run_estimate.md, docs/spine_run.md).
ENCODE_TOKENS_PER_S = 4700.0  # MiniLM-L6, max_seq_length 256, batch 8: the run of docs/spine_run.md
TEACHER_PAIRS_PER_S = 5.3  # SmolLM2-135M, 128 passage tokens; a no-passage baseline counted as half a pair
TRAIN_TEXTS_PER_S = 11.5  # a step reads batch_queries x (K + 1) texts, forward and backward (0.48 steps/s)
STEP_OVERHEAD_S = {"raw_corpus": 1, "passages": 1, "queries": 1, "candidate_sets": 10, "utility_labels": 55,
                   "uae_encoder": 5, "faiss_index": 10, "eval_report": 20}  # loading models, the teacher, files


@dataclass(frozen=True)
class StepEstimate:
    asset: str
    seconds: float
    what: str  # the work it stands for, e.g. "800 teacher pairs + 400 baselines"


def estimate_run(corpus, run_config: dict, student_max_seq_length: int | None = None,
                 scope: str = "corpus") -> list[StepEstimate]:
    """The assets' estimates for a run of `run_config` (already merged with the domain's settings) on
    `corpus` (what preflight loaded), in the order the run materializes them."""
    from uae_assets.run_config import op_dataclass
    from uae_core.evaluation.screen import expected_pool_size, worth_screening

    candidates, training = op_dataclass(run_config, "candidate_sets"), op_dataclass(run_config, "uae_encoder")
    student = ((run_config.get("resources") or {}).get("student") or {}).get("config") or {}
    max_seq = student_max_seq_length or student.get("max_seq_length", 256)
    train = [q for q in corpus.queries if q.split == "train"]
    questions = len(train) if candidates.max_train_queries == 0 else min(len(train), candidates.max_train_queries)
    if candidates.label_budget:
        questions = min(questions, candidates.label_budget // candidates.k)
    pairs = questions * candidates.k
    corpus_tokens = sum(min(len(p.text) / 4, max_seq) for p in corpus.passages)
    encode_s = corpus_tokens / ENCODE_TOKENS_PER_S
    steps = math.ceil(questions / training.batch_queries) * training.epochs
    step_texts = training.batch_queries * (candidates.k + 1)
    label_s = (pairs + questions / 2) / TEACHER_PAIRS_PER_S
    # Encodes of the whole corpus: the base encoder once (candidate_sets; cached for the base's dev score
    # and the report), then each merge share's model on dev (the kept one is cached for the index), or, where
    # a pool of passages pays (evaluation.screen), each share on the pool and the kept one on the corpus.
    dense = 1 if "dense" in candidates.sources else 0
    shares = len(training.merge_shares)
    pool = expected_pool_size(corpus.passages, corpus.queries, scope)
    screened = worth_screening(pool, len(corpus.passages), shares)
    share_encodes = 1 + shares * pool / len(corpus.passages) if screened else shares
    merge_what = (f"1 corpus encode + {shares} on ~{pool} pooled passages" if screened
                  else f"{shares + 1 - dense} corpus encodes")
    estimates = [
        StepEstimate("raw_corpus", STEP_OVERHEAD_S["raw_corpus"], "read the source"),
        StepEstimate("passages", STEP_OVERHEAD_S["passages"], f"{len(corpus.passages)} passages"),
        StepEstimate("queries", STEP_OVERHEAD_S["queries"], f"{len(corpus.queries)} questions"),
        StepEstimate("candidate_sets", STEP_OVERHEAD_S["candidate_sets"] + dense * encode_s,
                     f"{dense} encode of {len(corpus.passages)} passages"),
        StepEstimate("utility_labels", STEP_OVERHEAD_S["utility_labels"] + label_s,
                     f"{pairs} teacher pairs + {questions} baselines"),
        StepEstimate("uae_encoder", STEP_OVERHEAD_S["uae_encoder"] + steps * step_texts / TRAIN_TEXTS_PER_S
                     + (share_encodes + 1 - dense) * encode_s,
                     f"{steps} training steps, {merge_what}"),
        StepEstimate("faiss_index", STEP_OVERHEAD_S["faiss_index"], "index the kept model's embeddings"),
        StepEstimate("eval_report", STEP_OVERHEAD_S["eval_report"], "score every system"),
    ]
    return estimates


def describe(estimates: list[StepEstimate]) -> str:
    from uae_core.progress import duration

    total = sum(e.seconds for e in estimates)
    parts = ", ".join(f"{e.asset} {duration(e.seconds)} ({e.what})" for e in estimates if e.seconds >= 30)
    return (f"estimated run: ~{duration(total)} on a 2-core CPU if nothing is stored yet (less where labels, "
            f"models or embeddings are): {parts}")


class RunClock:
    """Time left for the whole run after each finished step: the estimates of the assets not finished,
    scaled by how long the finished ones took against theirs."""

    def __init__(self, estimates: list[StepEstimate], selected: list[str] | None = None):
        self.estimates = {e.asset: e.seconds for e in estimates if not selected or e.asset in selected}
        self.run_started = time.monotonic()
        self.asset_started: dict[str, float] = {}
        self.finished: dict[str, float] = {}
        self.pending: dict[str, str | None] = {}  # step's asset -> the line to print once that step is done

    def started(self, step: str) -> None:
        """`step`: the step key's first part (an asset's name, or a multi-asset's op such as `corpus`)."""
        self.asset_started.setdefault(step, time.monotonic())

    def done(self, asset: str, step: str | None = None) -> str | None:
        """The line to print once `asset` is materialized: None after the quick steps (under 15 s
        estimated) and when nothing the estimate covers is left."""
        from uae_core.progress import duration

        if asset not in self.estimates or asset in self.finished:
            return None
        self.finished[asset] = time.monotonic() - self.asset_started.get(step or asset, time.monotonic())
        predicted = sum(self.estimates[a] for a in self.finished)
        ratio = min(max(sum(self.finished.values()) / predicted, 0.5), 3.0) if predicted >= 30 else 1.0
        left = ratio * sum(s for a, s in self.estimates.items() if a not in self.finished)
        if not left or self.estimates[asset] < 15:
            return None
        return (f"run: {duration(time.monotonic() - self.run_started)} so far, ~{duration(left)} left "
                f"(finished steps took {ratio:.1f}x their estimate)")
