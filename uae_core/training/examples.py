"""Training examples: a question, its labeled candidates and their utilities, and the key that says two
trainings had the same inputs (so a registered version can be reused instead of retrained)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

from uae_core.labeling.candidates import CandidateSet

if TYPE_CHECKING:
    from uae_core.training.trainer import TrainConfig


@dataclass(frozen=True)
class TrainExample:
    question: str
    passage_ids: tuple[str, ...]
    passages: tuple[str, ...]
    utilities: tuple[float, ...]
    is_gold: tuple[bool, ...]


def build_examples(candidate_sets: Sequence[CandidateSet], utilities: dict[str, dict[str, float]],
                   queries: dict, passages: dict) -> list[TrainExample]:
    """Join candidate sets with their labels; candidates without a label are left out."""
    out = []
    for c in candidate_sets:
        labels = utilities.get(c.query_id, {})
        pids = tuple(p for p in c.passage_ids if p in labels)
        if len(pids) < 2:
            continue
        q = queries[c.query_id]
        gold = set(q.gold_passage_ids)
        out.append(TrainExample(q.question, pids, tuple(passages[p].text for p in pids),
                                tuple(labels[p] for p in pids), tuple(p in gold for p in pids)))
    return out


def teacher_decisiveness(example: TrainExample) -> float:
    """How clearly the teacher prefers one candidate: best utility minus the runner-up's. On qasper's K = 8
    labels the quarter of questions with the largest gap have gold evidence as the teacher's top candidate
    83 % of the time, the lower half 5 % (docs/decisive_questions.md): a small gap mostly means that no
    candidate helped, not a graded preference."""
    top = sorted(example.utilities, reverse=True)
    return top[0] - top[1] if len(top) > 1 else 0.0


def signal_top_is_gold(examples: Sequence[TrainExample]) -> float | None:
    """Of the examples with gold evidence among their candidates, the share whose highest utility is gold: how
    often the signal a student learns from points at the evidence (read only to report; None without gold)."""
    judged = [ex.is_gold[max(range(len(ex.utilities)), key=ex.utilities.__getitem__)]
              for ex in examples if any(ex.is_gold)]
    return sum(judged) / len(judged) if judged else None


def most_decisive(examples: Sequence[TrainExample], fraction: float) -> list[TrainExample]:
    """The `fraction` of examples whose teacher is most decisive (teacher_decisiveness), in their original
    order; at least one. fraction 1 keeps every example."""
    if fraction >= 1 or not examples:
        return list(examples)
    keep = max(1, round(len(examples) * fraction))
    ranked = sorted(range(len(examples)), key=lambda i: (-teacher_decisiveness(examples[i]), i))
    chosen = set(ranked[:keep])
    return [ex for i, ex in enumerate(examples) if i in chosen]


def training_key(examples: Sequence[TrainExample], config: TrainConfig, base_fingerprint: str,
                 code_version: str) -> str:
    """Identifies a training run's inputs: equal keys mean an equal model (up to float nondeterminism)."""
    digest = hashlib.sha256()
    digest.update(json.dumps([asdict(config), base_fingerprint, code_version], sort_keys=True).encode())
    for ex in examples:
        digest.update(json.dumps([ex.question, ex.passage_ids, ex.passages, [round(u, 6) for u in ex.utilities],
                                  ex.is_gold]).encode())
    return digest.hexdigest()[:20]


def hard_label_examples(candidate_sets: Sequence[CandidateSet], queries: dict, passages: dict) -> list[TrainExample]:
    """The hard-label baseline's examples: each question's annotated gold passages first, then its retrieved
    candidates as negatives (no teacher utilities: it learns from evidence annotations, which UAE does not
    need). Questions without gold are left out."""
    out = []
    for c in candidate_sets:
        q = queries[c.query_id]
        gold = [p for p in q.gold_passage_ids if p in passages]
        pids = tuple(dict.fromkeys([*gold, *c.passage_ids]))
        if not gold or len(pids) < 2:
            continue
        out.append(TrainExample(q.question, pids, tuple(passages[p].text for p in pids), (0.0,) * len(pids),
                                tuple(p in gold for p in pids)))
    return out
