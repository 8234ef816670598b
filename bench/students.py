"""What the training benches share: train a student on examples and score it on dev and test, and the base
encoder's scores (computed once per workdir), so every bench compares students the same way."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

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


def records(folder: Path, prefix: str) -> list[dict]:
    """bench/results.py train records in `folder` whose file names start with `prefix`."""
    return [json.loads(p.read_text()) for p in sorted(folder.glob(f"{prefix}*.json"))]


def seed_table(domain: str, rows: dict[str, list[dict]], trained_on: Callable[[dict], int],
               signal: Callable[[dict], float | None] | None = None) -> list[str]:
    """Markdown rows: each system's dev, test and test-hybrid R@1 / MAP as mean ± sd over its seed records,
    the questions it trained on (`trained_on(record)`), optionally how often its signal put gold first, and its
    train seconds."""
    extra = "signal top is gold | " if signal else ""
    lines = [f"| system | seeds | questions | {extra}dev R@1 | dev MAP | test R@1 | test MAP | test hybrid R@1 | "
             "test hybrid MAP | train s (device) |", "|---|---|---|" + "---|" * (8 if signal else 7)]
    for name, group in rows.items():
        if not group:
            continue
        cells = []
        for split, metric in [(s, m) for s in ("dev", "test", "test_hybrid") for m in METRICS]:
            v = [r["scores"][domain][split]["mean"][metric] for r in group]
            cells.append(f"{np.mean(v):.3f} ± {np.std(v):.3f} | " if len(v) > 1 else f"{v[0]:.3f} | ")
        if signal:
            tops = [signal(r) for r in group]
            cells.insert(0, "| " if None in tops else f"{np.mean(tops):.1%} | ")
        seeds = ",".join(str(r["run"]["seed"]) for r in group)
        seconds = f"{np.mean([r['train_seconds'] for r in group]):.0f} ({group[0]['device']})"
        lines.append(f"| {name} | {seeds} | {trained_on(group[0])} | {''.join(cells)}{seconds} |")
    return lines
