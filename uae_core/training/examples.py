"""Training examples: a question, its labeled candidates and their utilities, and the key that says two
trainings had the same inputs (so a registered version can be reused instead of retrained)."""

from __future__ import annotations

import ast
import hashlib
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from uae_core.labeling.candidates import CandidateSet

if TYPE_CHECKING:
    from uae_core.training.trainer import TrainConfig

TRAINING_CODE = Path(__file__).resolve().parent


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


def training_code_digest(root: Path = TRAINING_CODE) -> str:
    """A digest of the code that decides what a training produces: every module under uae_core/training (the
    trainer, the losses, the examples, the merge) and the student's forward pass (retrieval/encoder.py).
    Parsed first (ast), so comments and formatting do not count but any change to a loss body does: a
    registered version is never reused for code that would train a different model."""
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*.py")) + [root.parent / "retrieval" / "encoder.py"]:
        digest.update(str(path.relative_to(root.parent)).encode())
        digest.update(ast.dump(ast.parse(path.read_text(), str(path))).encode())
    return digest.hexdigest()[:16]


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
