"""The student's corpus encode at several batch sizes, side by side in one process on one machine: the
pipeline's own `encode` (uae_core.retrieval.encoder) on a domain's passages, the sizes taken in turn each
round so that all see the same load; medians over the rounds, tokens/s, and how far the embeddings move.

    .venv/bin/python -m bench.encode_batch                  # qasper, the default student: docs/encode_batch.md
    .venv/bin/python -m bench.encode_batch --domain covidqa --passages 1000 --out /tmp/encode_batch.md

Why: a whole-corpus encode is paid up to three times in a run (docs/spine_run.md), and the batch size decides
how much of a forward pass stays in cache on a small CPU.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from uae_assets.domains import get_domain
from uae_core.data import load_corpus
from uae_core.retrieval.encoder import approx_tokens, encode, encode_batch_size, load_student
from uae_core.weights import DEFAULT_STUDENT

REPO = Path(__file__).resolve().parent.parent


def measure(texts: list[str], student: str, sizes: list[int], rounds: int) -> dict:
    """Seconds per round for each batch size (in turn within a round), and each size's largest difference
    from the first size's embeddings."""
    model = load_student(student)
    default = encode_batch_size(model)
    encode(model, texts[:64], batch_size=64)  # warm up: first-call allocations are nobody's cost
    seconds: dict[int, list[float]] = {s: [] for s in sizes}
    embeddings: dict[int, np.ndarray] = {}
    load = []
    for r in range(rounds):
        for size in (sizes if r % 2 == 0 else sizes[::-1]):
            started = time.perf_counter()
            embeddings[size] = encode(model, texts, batch_size=size)
            seconds[size].append(time.perf_counter() - started)
            print(f"round {r + 1}/{rounds} batch {size}: {seconds[size][-1]:.1f} s", flush=True)
        load.append(os.getloadavg()[0])
    tokens = int(approx_tokens(model, texts).sum())
    first = embeddings[sizes[0]]
    return {"default": default, "texts": len(texts), "approx_tokens": tokens, "rounds": rounds,
            "load_avg_median": statistics.median(load),
            "sizes": {str(s): {"seconds": seconds[s], "median_s": statistics.median(seconds[s]),
                               "tokens_per_s": tokens / statistics.median(seconds[s]),
                               "max_abs_diff": float(np.abs(embeddings[s] - first).max())} for s in sizes}}


def render(r: dict, command: str) -> str:
    base = r["sizes"][str(r["reference"])]["median_s"]
    lines = ["# The corpus encode's batch size (bench.encode_batch)", "",
             f"`{command}` on {platform.machine()} CPU ({os.cpu_count()} cores), {r['date']}, fp32, "
             f"{r['student']}: {r['texts']} {r['domain']} passages (~{r['approx_tokens']:,} tokens at 4 characters "
             f"a token), the sizes in turn each round (reversed every other round), {r['rounds']} rounds, median "
             f"load average {r['load_avg_median']:.2f}. Medians; speed-up against batch {r['reference']}.", "",
             "| batch size | median s | each round (s) | tokens/s | speed-up | max abs diff of embeddings |",
             "|---|---|---|---|---|---|"]
    for size, v in r["sizes"].items():
        mark = " (default)" if int(size) == r["default"] else ""
        lines.append(f"| {size}{mark} | {v['median_s']:.1f} | {', '.join(f'{x:.1f}' for x in v['seconds'])} | "
                     f"{v['tokens_per_s']:,.0f} | {base / v['median_s']:.2f}x | {v['max_abs_diff']:.1e} |")
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--domain", default="qasper")
    ap.add_argument("--student", default=DEFAULT_STUDENT)
    ap.add_argument("--sizes", type=int, nargs="+", default=[64, 32, 16, 8])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--passages", type=int, default=0, help="a random sample of this many (0: all)")
    ap.add_argument("--out", type=Path, default=REPO / "docs" / "encode_batch.md")
    args = ap.parse_args(argv)
    domain = get_domain(args.domain)
    texts = [p.text for p in load_corpus(domain.source_file(), domain.format).passages]
    if args.passages:
        texts = random.Random(0).sample(texts, min(args.passages, len(texts)))
    r = {**measure(texts, args.student, args.sizes, args.rounds), "domain": args.domain, "student": args.student,
         "reference": args.sizes[0],
         "date": f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC"}
    command = "python -m bench.encode_batch " + " ".join(argv if argv is not None else sys.argv[1:])
    args.out.write_text(render(r, command.strip()))
    args.out.with_suffix(".json").write_text(json.dumps(r, indent=1))
    print(args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
