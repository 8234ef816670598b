"""Distil the student from a cross-encoder's graded scores instead of the teacher's (`TrainConfig.reranker_mix`).

The issue's FlagEmbedding #553 lever: a cross-encoder fitted to the teacher's utilities, cross-fitted so that it
scores questions it never trained on (uae_core/training/reranker.py), gives the student a smoother signal than
a 135M teacher whose utilities collapse onto one passage or stay level. This benchmark trains students on
bench/results.py's labels (its prepare stage must have run) with the pipeline's own training step:

  train  bench/results.py's train_one (train_and_merge, the domain's settings as the finals use them) with
         reranker_mix at each --mixes value and seed; records in --workdir/train/<domain>/
  doc    a table per domain beside the results workdir's finals on the same labels (mix 0: the teacher's
         utilities) and its hard-label encoder                                        -> docs/graded_signal.md

    .venv/bin/python bench/graded_signal.py --stage train --domains covidqa --results data/results/covidqa_design
    .venv/bin/python bench/graded_signal.py --stage doc --baseline covidqa=data/results/covidqa_design
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

import results as bench_results  # noqa: E402  bench/results.py: its labels, its train_one, its records
from students import add_finals_args, finish_finals_args, records, seed_table  # noqa: E402

PREFIX = "uae_reranker_mix-"


def train_stage(args) -> None:
    for domain in args.domains:
        prepared = json.loads((args.results / "prepared" / f"{domain}.json").read_text())
        scorer = bench_results.Scorer(domain, args.size, args.cache)
        for seed in args.seeds:
            for mix in args.mixes:
                run = bench_results.Run(f"uae/reranker_mix={mix},folds={args.folds}/seed={seed}", "uae", seed=seed,
                                        overrides={"reranker_mix": mix, "reranker_folds": args.folds})
                record = bench_results._cached(
                    args.workdir / "train" / domain / run.file(),
                    lambda run=run, prepared=prepared, scorer=scorer: bench_results.train_one(
                        args, args.size, run, prepared, scorer, [], "", None))
                dev, test = (record["scores"][domain][s]["mean"] for s in ("dev", "test"))
                print(f"[train] {domain} {run.name}: dev success@1 {dev['success@1']:.3f} map {dev['map']:.3f}, "
                      f"test {test['success@1']:.3f} / {test['map']:.3f}; signal top is gold "
                      f"{record['signal_top_is_gold']:.3f} ({record['train_seconds']} s, reranker "
                      f"{record['reranker_seconds']} s)", flush=True)


def chance_top_is_gold(domain: str, args) -> float:
    """Of the labeled questions with gold among their candidates, the mean share of their candidates that are
    gold: how often a signal that picks a candidate at random puts gold first."""
    _, corpus = bench_results.load_domain(domain, args.size)
    gold = {q.query_id: set(q.gold_passage_ids) for q in corpus.queries}
    utilities = json.loads((args.results / "prepared" / f"{domain}.json").read_text())["utilities"]
    shares = [len(gold[q] & set(u)) / len(u) for q, u in utilities.items() if gold[q] & set(u)]
    return sum(shares) / len(shares)


def doc_stage(args) -> None:
    lines = ["# A graded signal: the student distilled from a cross-encoder fitted to the teacher", "",
             f"Made by `bench/graded_signal.py` ({datetime.now(timezone.utc):%Y-%m-%d}, {os.cpu_count()} cores, "
             f"{platform.machine()}) on the labels of `bench/results.py --size quick`. `reranker_mix` is the share "
             "of the cross-encoder's scores in the utilities the student learns from; `reranker_folds` 1 scores the "
             "questions the cross-encoder trained on, 2 cross-fits "
             "(uae_core/training/reranker.py; 0 = the teacher's own: the results workdir's UAE finals). Each row: "
             "mean over seeds ± population sd of the seeds; every UAE row trains with the same settings (the "
             "finals': bench/results.py's FINAL under the domain's pinned settings) on the same labeled "
             "questions. `signal top is gold`: of the questions with gold evidence among their candidates, how "
             "often the utilities the student learned from put gold first (gold is read only to report this). "
             "The hard-label encoder (gold evidence for every question) is the bar UAE is held to.", ""]
    for domain in args.domains:
        finals = args.baselines.get(domain, args.results) / "train" / domain
        rows = {"hard-label (gold evidence)": records(finals, "hard_label_seed-"),
                "UAE, reranker_mix 0 (the teacher's utilities)": records(finals, "uae_seed-")}
        groups: dict[tuple[float, int], list[dict]] = {}
        for r in records(args.workdir / "train" / domain, PREFIX):
            groups.setdefault((r["config"]["reranker_mix"], r["config"]["reranker_folds"]), []).append(r)
        seeds = {r["run"]["seed"] for group in groups.values() for r in group}
        teacher_rows = rows["UAE, reranker_mix 0 (the teacher's utilities)"]
        if seeds and seeds != {r["run"]["seed"] for r in teacher_rows}:  # the paired comparison
            rows[f"UAE, reranker_mix 0, seeds {','.join(map(str, sorted(seeds)))} only"] = [
                r for r in teacher_rows if r["run"]["seed"] in seeds]
        for (mix, folds), group in sorted(groups.items()):
            how = "scored in-sample" if folds == 1 else f"cross-fitted, {folds} folds"
            rows[f"UAE, reranker_mix {mix:g} ({how})"] = group
        teacher_top = json.loads((args.results / "prepared" / f"{domain}.json").read_text())["top1_is_gold"]

        def signal(record: dict, teacher_top=teacher_top) -> float:  # records older than the field: by definition
            if record.get("signal_top_is_gold") is not None:
                return record["signal_top_is_gold"]
            return 1.0 if record["config"]["objective"] == "gold" else teacher_top

        lines += [f"**{domain}** (chance level of `signal top is gold`, a random candidate: "
                  f"{chance_top_is_gold(domain, args):.1%})", "",
                  *seed_table(domain, rows, lambda r: r["examples"], signal), ""]
    args.out.write_text("\n".join(lines))
    print(f"[doc] {args.out}")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--stage", choices=["train", "doc"], required=True)
    ap.add_argument("--domains", default="qasper,covidqa")
    ap.add_argument("--mixes", type=float, nargs="+", default=[1.0])
    ap.add_argument("--folds", type=int, default=2, help="reranker_folds: 1 in-sample, >= 2 cross-fitted")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0])
    add_finals_args(ap, "graded", "mix-0 and hard-label", REPO / "docs" / "graded_signal.md")
    args = ap.parse_args(argv)
    finish_finals_args(args, "graded", replace(bench_results.SIZES["quick"], sweep=False))
    {"train": train_stage, "doc": doc_stage}[args.stage](args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
