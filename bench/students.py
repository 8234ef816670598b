"""What the training benches share: train a student on examples and score it on dev and test, and the base
encoder's scores (computed once per workdir), so every bench compares students the same way."""

from __future__ import annotations

import argparse
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


def add_finals_args(ap: argparse.ArgumentParser, name: str, rows: str, page: Path) -> None:
    """The arguments of a bench that trains beside bench/results.py's finals (its labels, its train_one):
    where the finals are, where this bench's records go (<data dir>/results/`name`) and its page."""
    from uae_core.weights import DEFAULT_STUDENT

    ap.add_argument("--results", type=Path, help="bench/results.py's workdir (default <data dir>/results/quick)")
    ap.add_argument("--workdir", type=Path, help=f"default <data dir>/results/{name}")
    ap.add_argument("--baseline", action="append", default=[], metavar="DOMAIN=DIR",
                    help=f"a bench/results.py workdir whose finals are the domain's {rows} rows (default --results), "
                         "e.g. one trained with the domain's own settings")
    ap.add_argument("--out", type=Path, default=page)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--student", default=DEFAULT_STUDENT)
    ap.add_argument("--embed-chunk", type=int, default=8)


def finish_finals_args(args: argparse.Namespace, name: str, size) -> None:
    """Defaults and what train_one reads besides: no MLflow, bench/results.py's quick size without a sweep."""
    from uae_assets.domains import data_dir

    args.domains = args.domains.split(",")
    args.results = args.results or data_dir() / "results" / "quick"
    args.workdir = args.workdir or data_dir() / "results" / name
    args.cache = data_dir() / "cache" / "embeddings"
    args.baselines = {d: Path(p) for d, p in (b.split("=", 1) for b in args.baseline)}
    args.size = size
    args.tracking, args.quiet = "none", False
