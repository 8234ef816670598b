"""The GPU paths, checked on a GPU machine: teacher scoring on CUDA equals CPU, and how fast the teacher
(the labeling bottleneck), LLM re-ranking, the UAE query path and a training step run there.

    python -m bench.gpu_paths --teacher-dir DIR --student DIR --data FILE --out FILE.json
    python -m bench.gpu_paths --render FILE.json      # -> docs/bench_gpu.md

The teacher is the packaged SmolLM2-135M architecture (its config and tokenizer) with random weights:
speed does not depend on weight values, and its weights (~540 MB in fp32) do not fit what a device call
of this workplace carries (64 MiB). The student is the real all-MiniLM-L6-v2 (fp16 copy, run in fp32).
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def requests_from(data: str, n: int, seed: int = 0):
    from uae_core.data.qasper import load_qasper
    from uae_core.labeling.teacher import ScoreRequest

    corpus = load_qasper(data)
    rng = random.Random(seed)
    by_pid = {p.passage_id: p for p in corpus.passages}
    qs = [q for q in corpus.queries if q.gold_passage_ids]
    out = []
    for _ in range(n):
        q = rng.choice(qs)
        passage = by_pid[q.gold_passage_ids[0]].text if rng.random() < 0.5 else rng.choice(corpus.passages).text
        out.append(ScoreRequest("answer", q.question, q.answers[0], passage))
    return corpus, out


def random_teacher(teacher_dir: str, target: Path, **overrides) -> Path:
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    config = AutoConfig.from_pretrained(teacher_dir, **overrides)
    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_config(config).float()
    model.save_pretrained(target)
    AutoTokenizer.from_pretrained(teacher_dir).save_pretrained(target)
    return target


def sync() -> None:
    import torch

    if torch.cuda.is_available():
        torch.cuda.synchronize()


def timed(fn, repeat: int = 1) -> float:
    sync()
    t = time.perf_counter()
    for _ in range(repeat):
        fn()
    sync()
    return (time.perf_counter() - t) / repeat


def measure(args) -> dict:
    import numpy as np
    import torch

    from uae_core.labeling.teacher import TeacherConfig, load_teacher
    from uae_core.retrieval.encoder import embed_with_grad, encode, load_student
    from uae_core.retrieval.index import exact_search
    from uae_core.retrieval.rerank import rerank

    dev = args.device
    out = {"gpu": torch.cuda.get_device_name() if dev.startswith("cuda") else dev, "torch": torch.__version__}
    corpus, reqs = requests_from(args.data, args.pairs)
    tmp = Path("/tmp/uae_gpu")
    # 1. same scores on CUDA as on CPU (fp32), small and full-size random teachers
    for name, overrides, n in (("tiny", {"num_hidden_layers": 2, "hidden_size": 64, "intermediate_size": 128,
                                         "num_attention_heads": 4, "num_key_value_heads": 2}, 64),
                               ("smollm2-135m-shape", {}, 16)):
        path = random_teacher(args.teacher_dir, tmp / name, **overrides)
        cpu = load_teacher(TeacherConfig(model=str(path)), device="cpu").score(reqs[:n])
        gpu = load_teacher(TeacherConfig(model=str(path)), device=dev).score(reqs[:n])
        out[f"cpu_vs_cuda_max_abs_diff_{name}"] = max(abs(a[0] - b[0]) for a, b in zip(cpu, gpu))
    # 2. labeling throughput (pairs/s), fp32 and bf16, by batch size
    model_path = str(tmp / "smollm2-135m-shape")
    out["teacher_pairs_per_s"] = {}
    for dtype in (("float32", "bfloat16") if dev != "cpu" else ("float32",)):
        for bs in ((8, 32, 128) if dev != "cpu" else (8,)):
            t = load_teacher(TeacherConfig(model=model_path, batch_size=bs, dtype=dtype), device=dev)
            t.score(reqs[:bs])  # warm-up
            seconds = timed(lambda t=t: t.score(reqs))
            out["teacher_pairs_per_s"][f"{dtype}/batch={bs}"] = len(reqs) / seconds
    out["pairs"] = len(reqs)
    out["mean_prompt_tokens"] = statistics.fmean(len(p) + len(a) for p, a in map(t.encode, reqs))
    # 3. per-query latency: UAE (encode the question + exact search) vs UPR (that + teacher on the top 20)
    student = load_student(args.student, device=dev).float()
    passages = corpus.passages
    emb = encode(student, [p.text for p in passages], batch_size=256)
    upr = load_teacher(TeacherConfig(model=model_path, batch_size=20), device=dev)
    queries = [q for q in corpus.queries if q.gold_passage_ids][:args.queries + 10]
    uae_ms, upr_ms = [], []
    for i, q in enumerate(queries):
        t0 = time.perf_counter()
        top = exact_search(emb, encode(student, [q.question]), 1000)[0]
        t1 = time.perf_counter()
        rerank(upr, q, top[:20], passages)
        sync()
        t2 = time.perf_counter()
        if i >= 10:  # first ten are warm-up
            uae_ms.append((t1 - t0) * 1000)
            upr_ms.append((t2 - t0) * 1000)
    out["latency_ms"] = {"uae_p50": float(np.percentile(uae_ms, 50)), "uae_p95": float(np.percentile(uae_ms, 95)),
                         "upr_p50": float(np.percentile(upr_ms, 50)), "upr_p95": float(np.percentile(upr_ms, 95)),
                         "queries": len(uae_ms), "passages": len(passages)}
    out["latency_ms"]["upr_over_uae_p50"] = out["latency_ms"]["upr_p50"] / out["latency_ms"]["uae_p50"]
    # 4. one training step of the student, 8 questions x 8 passages, one forward (chunk 128)
    student.train()
    opt = torch.optim.AdamW(student.parameters(), lr=1e-5)
    texts = [p.text for p in passages[:64]]

    def step():
        q = embed_with_grad(student, [r.question for r in reqs[:8]], 128)
        d = embed_with_grad(student, texts, 128)
        loss = (q @ d.T).logsumexp(-1).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    step()
    out["train_step_ms_8x8"] = statistics.median(timed(step) for _ in range(10)) * 1000
    return out


def render(path: Path) -> Path:
    r = json.loads(path.read_text())
    lines = ["# The GPU paths (device machine)", "",
             f"`python -m bench.gpu_paths` on {r['gpu']} (torch {r['torch']}), {r.get('date', '')}. "
             "Teacher: the SmolLM2-135M architecture with random weights (speed does not depend on them; the "
             "real weights do not fit a device call's 64 MiB); student: the real all-MiniLM-L6-v2.", "",
             "| check | result |", "|---|---|",
             f"| teacher scores, CUDA vs CPU (fp32), tiny random Llama, 64 pairs | max abs diff "
             f"{r['cpu_vs_cuda_max_abs_diff_tiny']:.2e} nats/token |",
             f"| the same, SmolLM2-135M shape, 16 pairs | max abs diff "
             f"{r['cpu_vs_cuda_max_abs_diff_smollm2-135m-shape']:.2e} |", "",
             f"Labeling throughput ({r.get('pairs', 512)} QASPER pairs, mean {r['mean_prompt_tokens']:.0f} tokens "
             "each; "
             "CPU for comparison: ~3.5 pairs/s on the 2-core machine, docs/spine_run.md):", "",
             "| dtype / batch | pairs/s |", "|---|---|"]
    lines += [f"| {k} | {v:,.0f} |" for k, v in r["teacher_pairs_per_s"].items()]
    lat = r["latency_ms"]
    lines += ["", f"Per-query latency on the GPU ({lat['queries']} QASPER questions, {lat['passages']} passages):",
              "", "| system | p50 ms | p95 ms |", "|---|---|---|",
              f"| UAE (encode question + exact search) | {lat['uae_p50']:.2f} | {lat['uae_p95']:.2f} |",
              f"| LLM re-ranking of the top 20 (UPR) | {lat['upr_p50']:.2f} | {lat['upr_p95']:.2f} |", "",
              f"UPR / UAE p50 on the GPU: {lat['upr_over_uae_p50']:.0f}x. "
              f"Student training step (8 questions x 8 passages, fp32): {r['train_step_ms_8x8']:.1f} ms.", ""]
    target = REPO / "docs" / "bench_gpu.md"
    target.write_text("\n".join(lines))
    return target


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--teacher-dir")
    ap.add_argument("--student")
    ap.add_argument("--data")
    ap.add_argument("--out", type=Path)
    ap.add_argument("--render", type=Path)
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--pairs", type=int, default=512)
    ap.add_argument("--queries", type=int, default=50)
    a = ap.parse_args()
    if a.render:
        print(render(a.render))
    else:
        result = measure(a)
        result["date"] = time.strftime("%Y-%m-%d")
        a.out.write_text(json.dumps(result, indent=1))
        print(json.dumps(result, indent=1))
