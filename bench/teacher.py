"""The teacher's two backends side by side, in one run on one machine: labeling throughput (pairs/s), answer
generation (tokens/s), and how far their scores differ, on the same real QASPER requests.

    .venv/bin/python -m bench.teacher                      # this machine (CPU): docs/bench_teacher.md
    python -m bench.teacher --device cuda --model DIR      # a GPU machine (same architecture, any weights)

Both backends score the same token-id prompts (labeling/teacher.py builds them); the rounds alternate
between backends, so both see the same load on a shared machine. 1M pairs: the time at the measured rate.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import time
from datetime import datetime, timezone
from pathlib import Path

from uae_core.data.qasper import load_qasper
from uae_core.labeling.teacher import ScoreRequest, TeacherConfig, load_teacher
from uae_core.weights import DEFAULT_TEACHER

REPO = Path(__file__).resolve().parent.parent

POOL = REPO.parent / "shared" / "data" / "qasper" / "qasper-train-pool.json"


def requests(n: int, seed: int = 0) -> tuple[list[ScoreRequest], list[tuple[str, list[str]]]]:
    """n labeling requests (half with the gold passage, half a random one, some without context) and the
    answer prompts of the first n // 5 questions."""
    corpus = load_qasper(POOL)
    rng = random.Random(seed)
    by_id = {p.passage_id: p for p in corpus.passages}
    questions = [q for q in corpus.queries if q.gold_passage_ids]
    out, answer_items = [], []
    for i in range(n):
        q = rng.choice(questions)
        roll = rng.random()
        passage = None if roll < 0.2 else by_id[q.gold_passage_ids[0]].text if roll < 0.6 else rng.choice(
            corpus.passages).text
        out.append(ScoreRequest("answer", q.question, q.answers[0], passage))
        if i < n // 5:
            answer_items.append((q.question, [by_id[q.gold_passage_ids[0]].text]))
    return out, answer_items


def measure(args) -> dict:
    reqs, answer_items = requests(args.pairs)
    teachers = {b: load_teacher(TeacherConfig(model=args.model, backend=b, batch_size=args.batch_size),
                                cache_dir=args.cache, device=args.device) for b in args.backends}
    started = {b: time.perf_counter() for b in teachers}
    for backend, teacher in teachers.items():  # load and warm up, timed apart from the rounds
        teacher.score(reqs[:8])
        started[backend] = time.perf_counter() - started[backend]
    rounds = [reqs[i:i + args.round] for i in range(0, len(reqs), args.round)]
    seconds = {b: 0.0 for b in teachers}
    scores: dict[str, list] = {b: [] for b in teachers}
    load = []
    for chunk in rounds:
        for backend, teacher in teachers.items():
            t = time.perf_counter()
            scores[backend] += teacher.score(chunk)
            seconds[backend] += time.perf_counter() - t
        load.append(os.getloadavg()[0])
    out = {"pairs": len(reqs), "device": args.device, "load_avg_median": statistics.median(load),
           "mean_tokens": statistics.fmean(sum(map(len, teachers[args.backends[0]].encode(r))) for r in reqs),
           "start_seconds": started, "pairs_per_second": {b: len(reqs) / s for b, s in seconds.items()}}
    if len(teachers) == 2:
        a, b = (scores[x] for x in args.backends)
        diffs = sorted(abs(x[0] - y[0]) for x, y in zip(a, b))
        out["max_abs_diff"], out["median_abs_diff"] = diffs[-1], diffs[len(diffs) // 2]
    prompts = [teachers[args.backends[0]].answer_prompt(q, ctx) for q, ctx in answer_items]
    out["generation"] = {}
    texts = {}
    for backend, teacher in teachers.items():
        t = time.perf_counter()
        texts[backend] = teacher.generate(prompts, 32)
        took = time.perf_counter() - t
        tokens = sum(len(teacher.tokenizer(x, add_special_tokens=False)["input_ids"]) for x in texts[backend])
        out["generation"][backend] = {"prompts": len(prompts), "seconds": took, "tokens_per_second": tokens / took}
    if len(teachers) == 2:
        out["same_answers"] = sum(x == y for x, y in zip(*texts.values())) / len(prompts)
    return out


def render(r: dict, path: Path) -> None:
    rate = r["pairs_per_second"]
    lines = ["# The teacher's backends: transformers and vLLM", "",
             f"`.venv/bin/python -m bench.teacher` on {r['machine']}, {r['date']} (median load average during the "
             f"rounds {r['load_avg_median']:.1f}: {'a shared machine' if r['load_avg_median'] > 1.5 else 'quiet'}). "
             f"{r['pairs']} QASPER labeling requests (mean {r['mean_tokens']:.0f} tokens: prompt + answer), "
             "scored by both backends in alternating rounds of the same requests; the packaged SmolLM2-135M "
             "teacher, fp32.", "",
             "| backend | pairs/s | 1M pairs take | start (load + warm-up) | answers, tokens/s |",
             "|---|---|---|---|---|"]
    for backend, pps in rate.items():
        gen = r["generation"][backend]
        lines.append(f"| {backend} ({r['device']}) | {pps:.2f} | {1e6 / pps / 3600:.0f} h | "
                     f"{r['start_seconds'][backend]:.0f} s | {gen['tokens_per_second']:.1f} |")
    if "max_abs_diff" in r:
        lines += ["", f"Scores: max |difference| {r['max_abs_diff']:.1e}, median {r['median_abs_diff']:.1e} nats "
                  f"per token over the {r['pairs']} requests; greedy answers identical for "
                  f"{r['same_answers']:.0%} of {r['generation'][next(iter(rate))]['prompts']} prompts.", ""]
    if {"transformers", "vllm"} <= set(rate):
        gen = r["generation"]
        lines += [f"vLLM / transformers in this run: {rate['vllm'] / rate['transformers']:.1f}x the pairs/s, "
                  f"{gen['vllm']['tokens_per_second'] / gen['transformers']['tokens_per_second']:.1f}x the answer "
                  "tokens/s (vLLM batches decoding). The rounds alternate, so both backends saw the same load; "
                  "absolute rates depend on it (a quiet machine labels at 2-3.5 pairs/s with transformers).", ""]
    lines += ["GPU: measured in an earlier session (docs/bench_gpu.md, an H200, the same architecture with random "
              "weights): transformers 442 pairs/s in fp32 at batch 32, so 1M pairs in 38 minutes. vLLM on a GPU "
              "is not measured: no device machine was lent to this task; `python -m bench.teacher --device cuda "
              "--model DIR` is the command for one.", ""]
    path.write_text("\n".join(lines))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default=DEFAULT_TEACHER)
    ap.add_argument("--backends", default="transformers,vllm")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--pairs", type=int, default=200)
    ap.add_argument("--round", type=int, default=20, help="requests per alternating round")
    ap.add_argument("--batch-size", type=int, default=8)
    ap.add_argument("--cache", type=Path, default=REPO / "data" / "models")
    ap.add_argument("--out", type=Path, default=REPO / "docs" / "bench_teacher.md")
    ap.add_argument("--render-only", action="store_true", help="rewrite the page from its saved .json")
    args = ap.parse_args(argv)
    args.backends = args.backends.split(",")
    if args.render_only:  # re-render the page from the JSON a previous run saved
        render(json.loads(args.out.with_suffix(".json").read_text()), args.out)
        return 0
    result = measure(args)
    result.update(date=datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
                  machine=f"{os.cpu_count()} CPU cores ({platform.machine()})")
    (args.out.with_suffix(".json")).write_text(json.dumps(result, indent=1))
    render(result, args.out)
    print(args.out.read_text())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
