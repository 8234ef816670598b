"""Label candidate sets with the teacher's utility, computing only what the store does not hold yet."""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from typing import Callable, Protocol, Sequence

from tqdm.auto import tqdm

from uae_core.candidates import CandidateSet
from uae_core.label_store import Label, LabelStore
from uae_core.qasper import Passage, Query
from uae_core.teacher import ScoreRequest

Progress = Callable[[int, int], None]  # (done, total)


class Scorer(Protocol):
    """What labeling needs from a teacher (the transformers Teacher, or vLLM at scale)."""

    teacher_id: str

    def score(self, requests: Sequence[ScoreRequest]) -> list[tuple[float, int]]: ...


@dataclass
class LabelingStats:
    queries: int = 0
    pairs_total: int = 0
    pairs_reused: int = 0
    pairs_labeled_now: int = 0
    baselines_labeled_now: int = 0
    teacher_requests: int = 0
    seconds: float = 0.0

    @property
    def pairs_per_second(self) -> float:
        return self.pairs_labeled_now / self.seconds if self.seconds > 0 and self.pairs_labeled_now else 0.0

    def as_dict(self) -> dict[str, float]:
        return {**self.__dict__, "pairs_per_second": round(self.pairs_per_second, 3)}


ANSWER_POLICIES = ("first", "average", "first_extractive", "average_extractive")


def answers_for(query: Query, policy: str) -> list[str]:
    """The reference answers the teacher scores. "first" annotator or the "average" over annotators; the
    "_extractive" variants score the annotator's extractive spans where they gave some (else the reference
    answer), the answer-type knob of docs/results.md."""
    if policy not in ANSWER_POLICIES:
        raise ValueError(f"answer_policy must be one of {ANSWER_POLICIES}, got {policy!r}")
    answers = list(query.answers)
    if policy.endswith("_extractive"):
        answers = [e or a for e, a in zip(query.extractive_answers, query.answers)]
    return answers[:1] if policy.startswith("first") else answers


def input_sha(query: Query, policy: str, passage: str | None) -> str:
    """Hash of the texts the teacher scores for this key: question, answers used, passage."""
    payload = "\x00".join([query.question, *answers_for(query, policy), passage or ""])
    return hashlib.sha1(payload.encode()).hexdigest()[:16]


def _score_items(teacher: Scorer, items: list[tuple[Query, str | None]], policy: str
                 ) -> tuple[list[tuple[float, int]], int]:
    """Score (query, passage or None) items in one teacher call: ll averaged over the query's answers
    (per `policy`) and the first answer's token count; also the number of teacher requests made."""
    requests, spans = [], []
    for query, passage in items:
        answers = answers_for(query, policy)
        spans.append((len(requests), len(answers)))
        requests += [ScoreRequest(query.question, a, passage) for a in answers]
    scored = teacher.score(requests)
    out = [(sum(s[0] for s in scored[i:i + n]) / n, scored[i][1]) for i, n in spans]
    return out, len(requests)


def label_candidates(teacher: Scorer, store: LabelStore, candidate_sets: Sequence[CandidateSet],
                     queries: dict[str, Query], passages: dict[str, Passage], answer_policy: str = "first",
                     chunk_pairs: int = 32, progress: Progress | None = None,
                     show_progress: bool = True) -> LabelingStats:
    """Write missing (teacher_id, query, passage) labels to `store`, one committed chunk at a time."""
    started = time.perf_counter()
    tid = teacher.teacher_id
    stats = LabelingStats(queries=len(candidate_sets))
    done = store.labeled_keys(tid)
    todo = [(c.query_id, pid) for c in candidate_sets for pid in c.passage_ids]
    stats.pairs_total = len(todo)
    question_sha = {q: input_sha(queries[q], answer_policy, None) for q in {q for q, _ in todo}}
    pair_sha = {(q, p): input_sha(queries[q], answer_policy, passages[p].text) for q, p in todo}
    # A stored label counts only if the teacher saw the same texts (old rows without a hash count too).
    todo = [key for key in todo if key not in done or done[key] not in (None, pair_sha[key])]
    stats.pairs_reused = stats.pairs_total - len(todo)

    baselines = store.baselines(tid)
    need = sorted({q for q, _ in todo if q not in baselines or baselines[q][2] not in (None, question_sha[q])})
    for start in range(0, len(need), chunk_pairs):
        qids = need[start:start + chunk_pairs]
        scored, n_requests = _score_items(teacher, [(queries[q], None) for q in qids], answer_policy)
        rows = [(qid, ll, n, question_sha[qid]) for qid, (ll, n) in zip(qids, scored)]
        store.add_baselines(tid, rows)
        baselines.update({qid: (ll, n, sha) for qid, ll, n, sha in rows})
        stats.baselines_labeled_now += len(rows)
        stats.teacher_requests += n_requests

    bar = tqdm(total=len(todo), desc="utility labels", unit="pair", disable=not show_progress)
    for start in range(0, len(todo), chunk_pairs):
        chunk = todo[start:start + chunk_pairs]
        scored, n_requests = _score_items(
            teacher, [(queries[qid], passages[pid].text) for qid, pid in chunk], answer_policy)
        stats.teacher_requests += n_requests
        labels = [Label(qid, pid, ll, baselines[qid][0], n, pair_sha[(qid, pid)])
                  for (qid, pid), (ll, n) in zip(chunk, scored)]
        store.add_labels(tid, labels)
        stats.pairs_labeled_now += len(labels)
        bar.update(len(labels))
        if progress:
            progress(stats.pairs_labeled_now, len(todo))
    bar.close()
    stats.seconds = time.perf_counter() - started
    return stats
