"""Label candidate sets with the teacher's utility, computing only what the store does not hold yet.

utility(q, d) = ll(target | q, d) - ll(target | q): the target is the reference answer (averaged over
annotators under the `answer_policy`), or the question itself for a question without answers.

Labels go to a `LabelSink`: the DuckDB `LabelStore` itself, or one shard's Parquet chunks
(labeling/shards.py) when several processes label side by side.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from itertools import pairwise
from typing import Protocol

from tqdm.auto import tqdm

from uae_core.data import Passage, Query
from uae_core.labeling.answers import input_sha, requests_for
from uae_core.labeling.candidates import CandidateSet
from uae_core.labeling.label_store import Label
from uae_core.labeling.teacher import Scorer
from uae_core.progress import Progress

FIRST_CHUNK_PAIRS = 8


class LabelSink(Protocol):
    """Where labels go and what is already there: `LabelStore` (DuckDB) or `shards.ShardSink` (Parquet)."""

    def labeled_keys(self, teacher_id: str) -> dict[tuple[str, str], str | None]: ...

    def baselines(self, teacher_id: str) -> dict[str, tuple[float, int, str | None]]: ...

    def add_labels(self, teacher_id: str, labels: Iterable[Label]) -> None: ...

    def add_baselines(self, teacher_id: str, rows: Iterable[tuple[str, float, int, str | None]]) -> None: ...


@dataclass
class LabelingStats:
    queries: int = 0
    pairs_total: int = 0
    pairs_reused: int = 0
    pairs_labeled_now: int = 0
    pairs_unlabelable: int = 0  # questions with no answer under without_answers = "skip"
    baselines_labeled_now: int = 0
    teacher_requests: int = 0
    seconds: float = 0.0

    @property
    def pairs_per_second(self) -> float:
        return self.pairs_labeled_now / self.seconds if self.seconds > 0 and self.pairs_labeled_now else 0.0

    def as_dict(self) -> dict[str, float]:
        return {**self.__dict__, "pairs_per_second": round(self.pairs_per_second, 3)}

    @classmethod
    def combine(cls, parts: Iterable[LabelingStats]) -> LabelingStats:
        """The stats of shards that labeled disjoint questions side by side: counts add up, the time is the
        longest shard's (so pairs_per_second is their throughput together)."""
        parts = list(parts)
        out = cls(**{k: sum(getattr(p, k) for p in parts) for k in cls.__dataclass_fields__ if k != "seconds"})
        out.seconds = max((p.seconds for p in parts), default=0.0)
        return out


def _score_items(teacher: Scorer, items: list[tuple[Query, str | None]]) -> tuple[list[tuple[float, int]], int]:
    """Score (query, passage or None) items in one teacher call: ll averaged over the query's requests
    and the first request's token count; also the number of teacher requests made."""
    requests, spans = [], []
    for query, passage in items:
        mine = requests_for(query, passage, teacher.config)
        spans.append((len(requests), len(mine)))
        requests += mine
    scored = teacher.score(requests)
    out = [(sum(s[0] for s in scored[i:i + n]) / n, scored[i][1]) for i, n in spans]
    return out, len(requests)


def label_candidates(teacher: Scorer, store: LabelSink, candidate_sets: Sequence[CandidateSet],
                     queries: dict[str, Query], passages: dict[str, Passage], chunk_pairs: int = 32,
                     progress: Progress | None = None, show_progress: bool = True) -> LabelingStats:
    """Write missing (teacher_id, query, passage) labels to `store`, one committed chunk at a time (a
    DuckDB transaction, or a Parquet file of a shard)."""
    started = time.perf_counter()
    tid, config = teacher.teacher_id, teacher.config
    stats = LabelingStats(queries=len(candidate_sets))
    done = store.labeled_keys(tid)
    todo = [(c.query_id, pid) for c in candidate_sets for pid in c.passage_ids]
    stats.pairs_total = len(todo)
    labelable = [key for key in todo if requests_for(queries[key[0]], None, config)]
    stats.pairs_unlabelable = len(todo) - len(labelable)
    question_sha = {q: input_sha(queries[q], config, None) for q in {q for q, _ in labelable}}
    pair_sha = {(q, p): input_sha(queries[q], config, passages[p].text) for q, p in labelable}
    # A stored label counts only if the teacher saw the same texts (old rows without a hash count too).
    todo = [key for key in labelable if key not in done or done[key] not in (None, pair_sha[key])]
    stats.pairs_reused = len(labelable) - len(todo)

    baselines = store.baselines(tid)
    need = {q for q, _ in todo if q not in baselines or baselines[q][2] not in (None, question_sha[q])}
    if todo:
        if progress:
            progress.note(f"{len(todo)} pairs to label ({stats.pairs_reused} stored) and {len(need)} questions to "
                          "score without a passage")
        with progress.waiting("loading the teacher") if progress else nullcontext():
            teacher.load()
    bar = tqdm(total=len(todo), desc="utility labels", unit="pair", disable=not show_progress)
    # A small first chunk: the first counted line (and the rate's clock) comes seconds after the load.
    edges = [0, *range(min(FIRST_CHUNK_PAIRS, chunk_pairs), len(todo), chunk_pairs), len(todo)] if todo else []
    for start, end in pairwise(edges):
        chunk = todo[start:end]
        # A question's no-passage baseline is scored in the chunk of its first pair, in the same teacher
        # call: the first progress line comes after one chunk, not after every baseline of the run.
        fresh = sorted({qid for qid, _ in chunk} & need)
        need -= set(fresh)
        scored, n_requests = _score_items(teacher, [(queries[q], None) for q in fresh]
                                          + [(queries[qid], passages[pid].text) for qid, pid in chunk])
        stats.teacher_requests += n_requests
        rows = [(qid, ll, n, question_sha[qid]) for qid, (ll, n) in zip(fresh, scored)]
        if rows:
            store.add_baselines(tid, rows)
            baselines.update({qid: (ll, n, sha) for qid, ll, n, sha in rows})
            stats.baselines_labeled_now += len(rows)
        labels = [Label(qid, pid, ll, baselines[qid][0], n, pair_sha[(qid, pid)])
                  for (qid, pid), (ll, n) in zip(chunk, scored[len(fresh):])]
        store.add_labels(tid, labels)
        stats.pairs_labeled_now += len(labels)
        bar.update(len(labels))
        if progress:
            progress(stats.pairs_labeled_now, len(todo))
    bar.close()
    stats.seconds = time.perf_counter() - started
    return stats
