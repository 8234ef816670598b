"""What the training benches share: train a student on examples and score it on dev and test, and the base
encoder's scores (computed once per workdir), so every bench compares students the same way."""

from __future__ import annotations

import json
import time
from pathlib import Path

from uae_core.evaluation.compare import split_metrics
from uae_core.retrieval.encoder import load_student
from uae_core.training.trainer import TrainConfig, train_student

METRICS = ("success@1", "map")
SPLITS = ("dev", "test")  # dev: what uae_encoder's promotion uses; test: the held-out report


def scores(model, corpus, domain, cache: Path) -> dict[str, dict[str, float]]:
    """{split: {metric: value}} on the domain's dev and test questions, in its scope."""
    out = {}
    for split in SPLITS:
        metrics = split_metrics(model, corpus.passages, corpus.queries, domain.scope, cache, split)
        out[split] = {m: round(metrics[m], 4) for m in METRICS}
    return out


def train_and_score(student: str, examples, seed: int, corpus, domain, cache: Path) -> dict:
    """A fresh student trained with TrainConfig's defaults (the main command's): train seconds and scores."""
    model = load_student(student)
    started = time.perf_counter()
    train_student(model, examples, TrainConfig(seed=seed), show_progress=False)
    return {"train_s": round(time.perf_counter() - started, 1), **scores(model, corpus, domain, cache)}


def base_scores(workdir: Path, student: str, corpus, domain) -> dict:
    """The untrained student's scores, kept in <workdir>/base.json."""
    path = workdir / "base.json"
    if not path.is_file():
        path.write_text(json.dumps(scores(load_student(student), corpus, domain, workdir / "cache")))
    return json.loads(path.read_text())
