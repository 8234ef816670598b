"""Weight-space merging of the distilled student with its base (WiSE-FT), `TrainConfig.merge_shares` side by side.

A share s moves the trained weights the share s of the way back to the base encoder, with the function the
pipeline merges with (uae_core.training.merge.merge_weights); a negative s moves them further from the base
along the same direction (task-vector extrapolation: does the short CPU training stop too early?).

- stage `label`: candidate sets (build_sticky, K = `--k`, the first `--questions` train questions) and their
  teacher labels (label_pairs), the pipeline's own steps, into the workdir (bench.students.label_stage);
- stage `train`: per label budget (`N:K`: the label stage's first N sets, cut to their first K candidates) and
  seed, one student trained by the pipeline's step (train_and_merge, TrainConfig's defaults, kept unmerged),
  then every share scored on dev and test from that one training, so the shares differ in nothing else;
- stage `doc`: the page. Its last row per budget is what the pipeline keeps: per seed, the share among
  TrainConfig.merge_shares that merge.best_share picks on dev.

    .venv/bin/python -m bench.weight_merge --stage label --k 8
    .venv/bin/python -m bench.weight_merge --stage train --budget 400:2 --seeds 0 1 2 --shares -0.5 0 0.3 0.5
    .venv/bin/python -m bench.weight_merge --stage doc
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
from collections import defaultdict
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path

from bench.students import HEADLINE_METRICS, base_scores, budget_examples, label_stage, load_teacher_for, scores
from uae_assets.domains import data_dir, get_domain
from uae_core.data import load_corpus
from uae_core.pipeline import train_and_merge
from uae_core.retrieval.encoder import load_student
from uae_core.training.merge import best_share, dev_score, merge_weights, snapshot
from uae_core.training.trainer import TrainConfig
from uae_core.weights import DEFAULT_STUDENT, DEFAULT_TEACHER

REPO = Path(__file__).resolve().parent.parent


def train_stage(args, corpus, domain) -> None:
    teacher_id = load_teacher_for(args.teacher).teacher_id
    for budget in args.budget:
        _, examples = budget_examples(args.workdir, corpus, budget, teacher_id)
        for seed in args.seeds:
            model = load_student(args.student)
            base = snapshot(model)
            # the pipeline's training step, kept unmerged (share 0): the shares below are merged from it
            result, _ = train_and_merge(model, examples, replace(TrainConfig(seed=seed), merge_shares=(0.0,)), None,
                                        show_progress=False)
            train_s = round(result.seconds, 1)
            trained = snapshot(model)
            for share in args.shares:
                model.load_state_dict(trained)
                merge_weights(model, base, share)
                row = {"budget": budget, "seed": seed, "share": share, "train_s": train_s,
                       **scores(model, corpus, domain, args.workdir / "cache")}
                print(json.dumps(row), flush=True)
                with (args.workdir / "weight_merge.jsonl").open("a") as f:
                    f.write(json.dumps(row) + "\n")


def doc_stage(args, corpus, domain) -> None:
    rows = [json.loads(line) for line in (args.workdir / "weight_merge.jsonl").read_text().splitlines() if line]
    base = base_scores(args.workdir, args.student, corpus, domain)
    groups: dict[tuple, list[dict]] = defaultdict(list)
    for r in rows:
        groups[r["budget"], r["share"]].append(r)
    lines = ["# Merging the student back toward its base (WiSE-FT, `TrainConfig.merge_shares`)", "",
             f"Made by `.venv/bin/python -m bench.weight_merge` ({datetime.now(timezone.utc):%Y-%m-%d}, "
             f"{platform.machine()} CPU, 2 cores). One student per budget and seed (the pipeline's training step, "
             "TrainConfig's defaults, on the label stage's labels), "
             "then each share s: weights = (1 - s) x trained + s x base (s < 0 extrapolates away from the base). "
             f"{args.domain}, {domain.scope} scope; base MiniLM dev R@1 / MAP {base['dev']['success@1']:.3f} / "
             f"{base['dev']['map']:.3f}, test {base['test']['success@1']:.3f} / {base['test']['map']:.3f}.", "",
             "| budget (N x K) | share s | seeds | dev R@1 | dev MAP | dev score | test R@1 | test MAP | "
             "test R@1 vs base | per seed test R@1 |", "|---|---|---|---|---|---|---|---|---|---|"]
    rows_of = {**{(b, f"{s:+.2f}"): mine for (b, s), mine in groups.items()}, **chosen_rows(rows)}
    for (budget, label), mine in sorted(rows_of.items(), key=lambda g: (g[0][0], *share_order(g[0][1]))):
        mean = {(s, m): sum(r[s][m] for r in mine) / len(mine) for s in ("dev", "test") for m in HEADLINE_METRICS}
        base_r1 = base["test"]["success@1"]
        gain = f"{mean['test', 'success@1'] / base_r1 - 1:+.1%}" if base_r1 else "n/a"
        seeds = ", ".join(f"{r['test']['success@1']:.3f}" + (f" (s {r['share']:g})" if label.startswith("dev") else "")
                          for r in sorted(mine, key=lambda r: r["seed"]))
        lines.append(f"| {budget.replace(':', ' x ')} | {label} | {len(mine)} | {mean['dev', 'success@1']:.3f} | "
                     f"{mean['dev', 'map']:.3f} | {dev_score(mean_of(mean, 'dev')):.4f} | "
                     f"{mean['test', 'success@1']:.3f} | {mean['test', 'map']:.3f} | {gain} | {seeds} |")
    lines += ["", "dev score: the mean of dev R@1 and MAP (merge.dev_score: what chooses a share). Share 0 is the "
              "plain student. `dev-chosen`: per seed, the share merge.best_share keeps among TrainConfig's "
              f"merge_shares {list(TrainConfig().merge_shares)} (the pipeline's rule), with that share in brackets."]
    args.out.write_text("\n".join(lines) + "\n")
    print(args.out)


def share_order(label: str) -> tuple[bool, float]:
    """Shares in numeric order, the dev-chosen row last."""
    return (True, 0.0) if label == "dev-chosen" else (False, float(label))


def mean_of(mean: dict, split: str) -> dict[str, float]:
    return {m: mean[split, m] for m in HEADLINE_METRICS}


def chosen_rows(rows: list[dict]) -> dict[tuple, list[dict]]:
    """Per budget, each seed's row at the share the pipeline would keep (seeds that tried all of them)."""
    shares = TrainConfig().merge_shares
    by_seed: dict[tuple, dict[float, dict]] = defaultdict(dict)
    for r in rows:
        by_seed[r["budget"], r["seed"]][r["share"]] = r
    out: dict[tuple, list[dict]] = defaultdict(list)
    for (budget, _), tried in by_seed.items():
        if all(s in tried for s in shares):
            chosen = best_share({s: dev_score(tried[s]["dev"]) for s in shares}, shares)
            out[budget, "dev-chosen"].append(tried[chosen])
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--stage", choices=["label", "train", "doc"], required=True)
    ap.add_argument("--domain", default="qasper")
    ap.add_argument("--questions", type=int, default=0, help="train questions to label, 0 = all (stage label)")
    ap.add_argument("--k", type=int, default=8, help="candidates per question (stage label)")
    ap.add_argument("--budget", action="append", default=None, help="N:K of the label stage's labels (400:2)")
    ap.add_argument("--shares", type=float, nargs="+", default=[-0.5, 0.0, 0.3, 0.5])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0])
    ap.add_argument("--student", default=DEFAULT_STUDENT)
    ap.add_argument("--teacher", default=DEFAULT_TEACHER)
    ap.add_argument("--workdir", type=Path, default=None, help="default <data dir>/weight_merge/<domain>")
    ap.add_argument("--out", type=Path, default=REPO / "docs" / "weight_merge.md")
    args = ap.parse_args(argv)
    args.budget = args.budget or ["400:2"]
    args.workdir = args.workdir or data_dir() / "weight_merge" / args.domain
    args.workdir.mkdir(parents=True, exist_ok=True)
    domain = get_domain(args.domain)
    corpus = load_corpus(domain.source_file(), domain.format)
    if args.stage == "label":
        print(label_stage(args.workdir, corpus, domain, args.k, args.questions, args.student, args.teacher))
    else:
        {"train": train_stage, "doc": doc_stage}[args.stage](args, corpus, domain)
    return 0


if __name__ == "__main__":
    sys.exit(main())
