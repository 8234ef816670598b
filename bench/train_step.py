"""One training step of the student, side by side: one padded forward for all texts vs length-sorted
chunks of several sizes (what uae_core.retrieval.encoder.embed_with_grad does, TrainConfig.embed_chunk_size).
Real MiniLM, real QASPER pool passages, 8 questions x K candidates (K = 2: the main command's), forward +
backward of the UAE loss; median of `--repeats` steps each, interleaved.

    .venv/bin/python -m bench.train_step       # writes docs/bench_train_step.md
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import statistics
import time
from datetime import datetime, timezone
from pathlib import Path

import torch

from uae_core.data.qasper import load_qasper
from uae_core.retrieval.encoder import load_student
from uae_core.training.examples import TrainExample
from uae_core.training.trainer import TrainConfig, batch_loss
from uae_core.weights import DEFAULT_STUDENT

REPO = Path(__file__).resolve().parent.parent
POOL = REPO.parent / "shared" / "data" / "qasper" / "qasper-train-pool.json"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--k", type=int, default=2, help="candidates per question")
    parser.add_argument("--chunks", type=int, nargs="+", default=[4, 8, 16], help="chunk sizes to time")
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "bench_train_step.md")
    args = parser.parse_args()
    corpus = load_qasper(POOL)
    rng = random.Random(0)
    model = load_student(DEFAULT_STUDENT)
    batches = []
    for _ in range(args.repeats):
        batch = []
        for q in rng.sample(corpus.queries, 8):
            ps = rng.sample(corpus.passages, args.k)
            batch.append(TrainExample(q.question, tuple(p.passage_id for p in ps), tuple(p.text for p in ps),
                                      tuple(rng.random() for _ in ps), (False,) * args.k))
        batches.append(batch)
    default = TrainConfig().embed_chunk_size
    variants = {"one padded batch": TrainConfig(embed_chunk_size=10_000)}
    for size in args.chunks:
        variants[f"length-sorted chunks of {size}" + (" (default)" if size == default else "")] = TrainConfig(
            embed_chunk_size=size)
    times: dict[str, list[float]] = {name: [] for name in variants}
    for batch in batches:  # interleaved, so both variants see the same machine state
        for name, config in variants.items():
            model.zero_grad(set_to_none=True)
            started = time.perf_counter()
            batch_loss(model, batch, config).backward()
            times[name].append(time.perf_counter() - started)
    base = statistics.median(times["one padded batch"])
    lines = ["# Training step: padding strategy and chunk size", "",
             f"{datetime.now(timezone.utc):%Y-%m-%d} on {os.cpu_count()} CPU cores ({platform.machine()}), torch "
             f"{torch.__version__}, fp32; `.venv/bin/python -m bench.train_step --repeats {args.repeats} --chunks "
             f"{' '.join(map(str, args.chunks))} --k {args.k}`. 8 questions x {args.k} QASPER-pool "
             f"passages (max 256 tokens), forward + backward, median of {args.repeats} steps, the variants in turn "
             "within each step's batch.", "",
             "| variant | median s/step | speed-up |", "|---|---|---|"]
    for name, values in times.items():
        med = statistics.median(values)
        lines.append(f"| {name} | {med:.2f} | {base / med:.2f}x |")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines) + "\n")
    print(args.out.read_text())


if __name__ == "__main__":
    main()
