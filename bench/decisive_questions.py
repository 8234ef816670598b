"""Train on the questions where the teacher is decisive (`TrainConfig.decisive_fraction`), side by side.

A teacher's utilities over a question's K candidates either single one out (a wide gap between the best and the
runner-up) or stay level, which is what a 135M teacher does when no candidate answers the question. This
benchmark shows both halves of the claim on bench/results.py's labels (its prepare stage must have run):

  analyse  per domain, the train questions in quartiles of teacher_decisiveness: how often gold evidence is
           among the candidates, and how often the teacher's top candidate is gold (gold is only read here,
           to judge the labels; training never sees it)
  train    bench/results.py's own train_one (the pipeline's train_and_merge, the domain's settings as the
           finals use them) at each --fractions value and seed; records in --workdir/train/<domain>/
  doc      both as tables, with the results workdir's fraction-1 finals (same labels, same settings) beside

    .venv/bin/python bench/decisive_questions.py --stage train --domains qasper --fractions 0.5 --seeds 0 1 2
    .venv/bin/python bench/decisive_questions.py --stage analyse
    .venv/bin/python bench/decisive_questions.py --stage doc --baseline covidqa=data/results/covidqa_design
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

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

import results as bench_results  # noqa: E402  bench/results.py: its labels, its train_one, its records
from students import add_finals_args, finish_finals_args, records, seed_table  # noqa: E402

from uae_core.training.examples import build_examples, teacher_decisiveness  # noqa: E402


def quartiles(prepared: dict, corpus) -> list[dict]:
    """Train questions in quartiles of the teacher's decisiveness, with how often gold is a candidate and how
    often the teacher's top candidate is gold."""
    from uae_core.labeling.candidates import CandidateSet

    queries = {q.query_id: q for q in corpus.queries}
    passages = {p.passage_id: p for p in corpus.passages}
    sets = [CandidateSet(q, tuple(ids)) for q, ids in prepared["sets"].items()]
    examples = build_examples(sets, prepared["utilities"], queries, passages)
    gaps = np.array([teacher_decisiveness(ex) for ex in examples])
    gold_in = np.array([any(ex.is_gold) for ex in examples])
    top_gold = np.array([ex.is_gold[int(np.argmax(ex.utilities))] for ex in examples])
    order = np.argsort(-gaps, kind="stable")
    rows = []
    for i, part in enumerate(np.array_split(order, 4)):
        rows.append({"quartile": i + 1, "questions": len(part), "gap_min": float(gaps[part].min()),
                     "gap_max": float(gaps[part].max()), "gold_in_candidates": float(gold_in[part].mean()),
                     "top_is_gold": float(top_gold[part].mean()),
                     "top_is_gold_where_gold_in": float(top_gold[part][gold_in[part]].mean())
                     if gold_in[part].any() else None})
    return rows


def analyse_stage(args) -> None:
    out = {}
    for domain in args.domains:
        _, corpus = bench_results.load_domain(domain, args.size)
        prepared = json.loads((args.results / "prepared" / f"{domain}.json").read_text())
        out[domain] = {"teacher_id": prepared["teacher_id"], "quartiles": quartiles(prepared, corpus)}
    _write(args.workdir / "analysis.json", out)


def train_stage(args) -> None:
    for domain in args.domains:
        prepared = json.loads((args.results / "prepared" / f"{domain}.json").read_text())
        scorer = bench_results.Scorer(domain, args.size, args.cache)
        for seed in args.seeds:
            for fraction in args.fractions:
                tag = f",{args.tag}" if args.tag else ""
                run = bench_results.Run(f"uae/decisive_fraction={fraction}{tag}/seed={seed}", "uae", seed=seed,
                                        overrides={**args.settings, "decisive_fraction": fraction})
                record = bench_results._cached(
                    args.workdir / "train" / domain / run.file(),
                    lambda run=run, prepared=prepared, scorer=scorer: bench_results.train_one(
                        args, args.size, run, prepared, scorer, [], "", None))
                dev = record["scores"][domain]["dev"]["mean"]
                print(f"[train] {domain} {run.name}: dev success@1 {dev['success@1']:.3f} map {dev['map']:.3f} "
                      f"({record['train_seconds']} s)", flush=True)


def doc_stage(args) -> None:
    analysis = json.loads((args.workdir / "analysis.json").read_text())
    lines = ["# Training on the questions where the teacher is decisive", "",
             f"Made by `bench/decisive_questions.py` ({datetime.now(timezone.utc):%Y-%m-%d}, "
             f"{os.cpu_count()} cores, {platform.machine()}) on the labels of `bench/results.py --size quick` "
             f"(`{_shown(args.results)}`). What it means for the defaults: README, Results (\"Training only where the "
             "teacher is decisive\").", "",
             "## The labels: a level teacher is a teacher that found nothing", "",
             "Train questions in quartiles of teacher decisiveness (best minus second-best utility over the "
             "question's candidates; quartile 1 the most decisive). Gold evidence is read only to judge the labels.",
             ""]
    for domain, info in analysis.items():
        lines += [f"**{domain}** (teacher `{info['teacher_id']}`)", "",
                  "| quartile | questions | gap | gold among candidates | teacher's top is gold | "
                  "top is gold, where gold is a candidate |", "|---|---|---|---|---|---|"]
        for r in info["quartiles"]:
            where = "" if r["top_is_gold_where_gold_in"] is None else f"{r['top_is_gold_where_gold_in']:.0%}"
            lines.append(f"| {r['quartile']} | {r['questions']} | {r['gap_min']:.2f} to {r['gap_max']:.2f} | "
                         f"{r['gold_in_candidates']:.0%} | {r['top_is_gold']:.0%} | {where} |")
        lines.append("")
    lines += ["## Trained on the most decisive fraction", "",
              "Each row: mean over seeds ± population sd of the seeds. Rows without settings train with the "
              "finals' (bench/results.py's FINAL under the domain's pinned settings); fraction 1 is "
              "`bench/results.py`'s UAE finals on the same labels. The hard-label encoder (gold evidence for "
              "every question, the finals' settings) is the bar UAE is held to. `questions`: trained on.", ""]
    for domain in analysis:
        finals = args.baselines.get(domain, args.results) / "train" / domain
        rows = {"hard-label (gold evidence)": records(finals, "hard_label_seed-"),
                "UAE, fraction 1 (every question)": records(finals, "uae_seed-")}
        groups: dict[str, list[dict]] = {}
        for r in records(args.workdir / "train" / domain, "uae_decisive_fraction-"):
            groups.setdefault(r["run"]["name"].rsplit("/seed=", 1)[0], []).append(r)
        for _, group in sorted(groups.items()):
            settings = {k: v for k, v in group[0]["run"]["overrides"].items() if k != "decisive_fraction"}
            label = f"UAE, fraction {group[0]['config']['decisive_fraction']:g}"
            rows[label + (f", {_settings(settings)}" if settings else "")] = group
        lines += [f"**{domain}**", "", *seed_table(domain, rows, _trained_on)]
        lines.append("")
    args.out.write_text("\n".join(lines))
    print(f"[doc] {args.out}")


def _shown(path: Path) -> str:
    return str(path.resolve().relative_to(REPO)) if path.resolve().is_relative_to(REPO) else str(path)


def _trained_on(record: dict) -> int:
    """Questions a record trained on: most_decisive's count for UAE, every example for hard-label."""
    if record["config"]["objective"] == "gold":
        return record["examples"]
    return max(1, round(record["examples"] * record["config"].get("decisive_fraction", 1.0)))


def _settings(settings: dict) -> str:
    return ", ".join(f"{k} {v:g}" if isinstance(v, float) else f"{k} {v}" for k, v in settings.items())


def _write(path: Path, obj) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj, indent=1))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--stage", choices=["analyse", "train", "doc"], required=True)
    ap.add_argument("--domains", default="qasper,covidqa")
    ap.add_argument("--fractions", type=float, nargs="+", default=[0.5])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0])
    ap.add_argument("--settings", type=json.loads, default={},
                    help="TrainConfig fields over the finals' (FINAL, then the domain's pinned ones), as JSON")
    ap.add_argument("--tag", help="names the --settings in the records (required with them)")
    add_finals_args(ap, "decisive", "fraction-1 and hard-label", REPO / "docs" / "decisive_questions.md")
    args = ap.parse_args(argv)
    if args.settings and not args.tag:
        ap.error("--settings needs --tag (it names the records)")
    finish_finals_args(args, "decisive", replace(bench_results.SIZES["quick"], sweep=False))
    {"analyse": analyse_stage, "train": train_stage, "doc": doc_stage}[args.stage](args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
