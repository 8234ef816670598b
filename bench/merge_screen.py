"""Choosing the merge share on a pool of passages (evaluation.screen) against choosing it on the whole corpus.

Per domain and seed: one student trained by the pipeline's step (train_and_merge, the domain's settings, kept
unmerged) on a workdir's stored labels, then every share of TrainConfig.merge_shares scored both ways, from
that one training: on the pool uae_encoder builds (screening_pool, before training, from the base encoder)
and on the whole corpus (dev and test). The page says which share each rule keeps, their dev scores, and
what each encode cost.

    .venv/bin/python -m bench.merge_screen --domain qasper --workdir data/hybrid_objective/qasper --seeds 0 1 2
    .venv/bin/python -m bench.merge_screen --doc        # docs/merge_screen.md from every stored row
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path

from bench.results import domain_training_settings
from bench.students import budget_examples, load_teacher_for, scores
from uae_assets.domains import data_dir, get_domain
from uae_core.data import load_corpus
from uae_core.evaluation.screen import MAX_POOL_COST, SCREEN_TOP, screen_metrics, screening_pool
from uae_core.pipeline import train_and_merge
from uae_core.retrieval.encoder import load_student
from uae_core.training.merge import best_share, dev_score, merge_weights, snapshot
from uae_core.training.trainer import TrainConfig
from uae_core.weights import DEFAULT_STUDENT, DEFAULT_TEACHER

REPO = Path(__file__).resolve().parent.parent
ROWS = data_dir() / "merge_screen" / "rows.jsonl"


def measure(domain_name: str, workdir: Path, budget: str, seed: int, student: str, teacher: str) -> dict:
    """One training, every merge share scored on the pool and on the whole corpus."""
    domain = get_domain(domain_name)
    corpus = load_corpus(domain.source_file(), domain.format)
    cache = data_dir() / "cache" / "embeddings"
    _, examples = budget_examples(workdir, corpus, budget, load_teacher_for(teacher).teacher_id)
    config = TrainConfig(**{**domain_training_settings(domain_name), "seed": seed})
    model = load_student(student, config.max_seq_length)
    started = time.perf_counter()
    pool = screening_pool(corpus.passages, corpus.queries, domain.scope, model, cache)
    pool_s = time.perf_counter() - started
    base = snapshot(model)
    train_and_merge(model, examples, replace(config, merge_shares=(0.0,)), None, show_progress=False)
    trained = snapshot(model)
    shares = {}
    for share in config.merge_shares:
        model.load_state_dict(trained)
        merge_weights(model, base, share)
        started = time.perf_counter()
        screen = screen_metrics(model, pool, corpus.queries, domain.scope, cache)
        screen_s = time.perf_counter() - started
        started = time.perf_counter()
        whole = scores(model, corpus, domain, cache)
        shares[str(share)] = {"screen": screen, "screen_score": dev_score(screen), "screen_s": round(screen_s, 1),
                              "whole": whole, "whole_score": dev_score(whole["dev"]),
                              "whole_s": round(time.perf_counter() - started, 1)}
    order = tuple(config.merge_shares)
    return {"domain": domain_name, "seed": seed, "budget": budget, "passages": len(corpus.passages),
            "pool": len(pool), "pool_build_s": round(pool_s, 1), "top": SCREEN_TOP, "shares": shares,
            "chosen_screen": best_share({s: shares[str(s)]["screen_score"] for s in order}, order),
            "chosen_whole": best_share({s: shares[str(s)]["whole_score"] for s in order}, order)}


def page(rows: list[dict]) -> str:
    lines = ["# Choosing the merge share on a pool of passages (bench.merge_screen)", "",
             f"Made by `.venv/bin/python -m bench.merge_screen` ({datetime.now(timezone.utc):%Y-%m-%d}, "
             f"{platform.machine()} CPU, 2 cores). Per domain and seed, one student (the pipeline's training step, "
             "the domain's settings, the workdir's stored labels), then each merge share scored on the dev "
             "questions twice: ranking among the pool uae_encoder builds (each dev question's gold and the top "
             f"{SCREEN_TOP} of BM25 and of the base encoder, evaluation.screen) and among the whole corpus. dev "
             "score: the mean of R@1 and MAP (merge.dev_score). Seconds: the encode and scoring of one share; the "
             "whole corpus's are small where an earlier run of the same model left its embeddings in the cache "
             "(an uncached encode of qasper's corpus: ~80-100 s here, docs/spine_run.md).", "",
             "| domain | seed | pool / passages | share | pool dev score | whole dev score | test R@1 / MAP | "
             "s pool | s whole | kept by pool | kept by whole |", "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        for share, s in r["shares"].items():
            lines.append(f"| {r['domain']} | {r['seed']} | {r['pool']} / {r['passages']} | {float(share):g} | "
                         f"{s['screen_score']:.4f} | {s['whole_score']:.4f} | {s['whole']['test']['success@1']:.3f} / "
                         f"{s['whole']['test']['map']:.3f} | {s['screen_s']} | {s['whole_s']} | "
                         f"{'yes' if float(share) == r['chosen_screen'] else ''} | "
                         f"{'yes' if float(share) == r['chosen_whole'] else ''} |")
    agree = sum(r["chosen_screen"] == r["chosen_whole"] for r in rows)
    lines += ["", f"The two rules keep the same share in {agree} of {len(rows)} trainings.", "",
              "What the product does with it (evaluation.screen.worth_screening): the shares are scored on the pool "
              f"only where scoring all of them there costs at most {MAX_POOL_COST:g} of a corpus encode, i.e. with "
              "two shares a pool of at most a quarter of the corpus, counted in characters encoded; the kept share "
              "is then scored on the whole corpus (the encode the index needs anyway), so the logged and promoted "
              "dev metrics stay whole-corpus ones. On the domains above the pool is too large a part of the corpus "
              "to pay, and each share is scored on the whole corpus as before; it pays on corpora large against "
              "their dev split. Not measured: the choice's fidelity on a pool that small (no domain in ../shared is "
              "that large against its dev split)."]
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--domain")
    ap.add_argument("--workdir", type=Path, help="a label stage's workdir (sets.json, labels.duckdb)")
    ap.add_argument("--budget", default="400:2", help="N:K of the workdir's labels (the main command's 400 x 2)")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0])
    ap.add_argument("--student", default=DEFAULT_STUDENT)
    ap.add_argument("--teacher", default=DEFAULT_TEACHER)
    ap.add_argument("--doc", action="store_true", help="write the page from every stored row")
    ap.add_argument("--out", type=Path, default=REPO / "docs" / "merge_screen.md")
    args = ap.parse_args(argv)
    ROWS.parent.mkdir(parents=True, exist_ok=True)
    if args.doc:
        args.out.write_text(page([json.loads(line) for line in ROWS.read_text().splitlines() if line]))
        print(args.out)
        return 0
    if not args.domain or not args.workdir:
        ap.error("--domain and --workdir are needed to measure (or --doc)")
    for seed in args.seeds:
        row = measure(args.domain, args.workdir, args.budget, seed, args.student, args.teacher)
        print(json.dumps(row), flush=True)
        with ROWS.open("a") as f:
            f.write(json.dumps(row) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
