"""Distil for what is served, by weighting: the student trained with BM25-residual question weights
(`TrainConfig.residual_floor`, uae_core.training.residual: a question whose most useful candidate BM25 already
ranks first counts `floor` as much as one BM25 misses) against the design's objective (floor 1), on the main
command's labels (400 train questions x K = 2), alone and in the served hybrid, beside BM25, the base encoder
and the free hybrid (BM25 + the base, no teacher call). Every step is the pipeline's: build_sticky and
label_pairs (bench.students.label_stage), residual_weights and build_examples as uae_encoder calls them,
train_and_merge with the domain's own settings, and the retriever faiss_index builds (bench.results.DomainEval).

    .venv/bin/python -m bench.residual --stage label --domain qasper
    .venv/bin/python -m bench.residual --stage train --domain qasper --seeds 0 --floors 1 0.2
    .venv/bin/python -m bench.residual --stage doc --domain qasper --domain covidqa

The page also gives each system's R@1 on the test questions BM25's top passage misses (what a hybrid needs
from its encoder) and the paired difference of each floor against floor 1, per split.
"""

from __future__ import annotations

import argparse
import json
import platform
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from bench.results import SIZES, DomainEval, domain_training_settings
from bench.students import budget_examples, label_stage, load_teacher_for
from uae_assets.domains import data_dir, get_domain
from uae_core.data import load_corpus
from uae_core.evaluation.stats import gain_interval, paired_bootstrap_difference
from uae_core.pipeline import train_and_merge
from uae_core.retrieval.encoder import load_student
from uae_core.training.trainer import TrainConfig
from uae_core.weights import DEFAULT_STUDENT, DEFAULT_TEACHER

REPO = Path(__file__).resolve().parent.parent
BUDGET = "400:2"  # the main command's: CandidateConfig's k and max_train_queries


def workdir(args, domain: str) -> Path:
    path = (args.workdir or data_dir() / "hybrid_objective") / domain
    path.mkdir(parents=True, exist_ok=True)
    return path


def train_stage(args, name: str) -> None:
    work = workdir(args, name)
    evaluation = DomainEval(name, SIZES["quick"], work / "cache")
    teacher_id = load_teacher_for(args.teacher).teacher_id
    trained = list(json.loads((work / "sets.json").read_text()))[: int(BUDGET.split(":")[0])]
    for system, compute in (("bm25", lambda: evaluation.score(evaluation.bm25)),
                            ("base", lambda: evaluation(load_student(args.student), trained=trained))):
        path = work / f"{system}.json"
        if not path.is_file():
            path.write_text(json.dumps(compute()))
    for seed in args.seeds:
        for floor in args.floors:
            path = work / f"residual_f{floor:g}_seed{seed}.json"
            if path.is_file():
                continue
            config = TrainConfig(**{**domain_training_settings(name), "seed": seed, "residual_floor": floor})
            _, examples = budget_examples(work, evaluation.corpus, BUDGET, teacher_id, evaluation.domain.scope,
                                          floor)
            model = load_student(args.student)
            result, merge = train_and_merge(model, examples, config, evaluation.dev, show_progress=False)
            record = {"seed": seed, "residual_floor": floor, "train_seconds": round(result.seconds, 1),
                      "merge_share": merge.share, **evaluation(model, trained=trained)}
            path.write_text(json.dumps(record))
            test, hybrid = record["test"]["mean"], record["test_hybrid"]["mean"]
            print(f"[train] {name} floor {floor:g} seed {seed} (share {merge.share:g}): dev R@1 "
                  f"{record['dev']['mean']['success@1']:.3f}, test R@1 {test['success@1']:.3f} map {test['map']:.3f}, "
                  f"hybrid {hybrid['success@1']:.3f} / {hybrid['map']:.3f}", flush=True)


def _mean(records: list[dict], split: str) -> dict:
    per_query = {m: np.mean([r[split]["per_query"][m] for r in records], axis=0) for m in ("success@1", "map")}
    return {"per_query": per_query, "mean": {m: float(v.mean()) for m, v in per_query.items()}}


def _label(floor: float) -> str:
    return "UAE (design's objective)" if floor == 1 else f"UAE, residual weights (floor {floor:g})"


def domain_rows(args, name: str) -> list[str]:
    work = workdir(args, name)
    bm25, base = (json.loads((work / f"{s}.json").read_text()) for s in ("bm25", "base"))
    runs = [json.loads(p.read_text()) for p in sorted(work.glob("residual_f*_seed*.json"))]
    free = {"test": base["test_hybrid"]}  # DomainEval scores a hybrid on test only
    systems = {"BM25": ({"dev": bm25["dev"], "test": bm25["test"]}, 0),
               "base MiniLM": ({"dev": base["dev"], "test": base["test"]}, 0),
               "free hybrid (BM25 + base)": (free, 0)}
    floors = sorted({r["residual_floor"] for r in runs}, reverse=True)
    by_floor = {f: sorted((r for r in runs if r["residual_floor"] == f), key=lambda r: r["seed"]) for f in floors}
    for floor, mine in by_floor.items():
        systems[_label(floor)] = ({s: _mean(mine, s) for s in ("dev", "test")}, len(mine))
        systems[f"{_label(floor)} + BM25 (served hybrid)"] = ({"test": _mean(mine, "test_hybrid")}, len(mine))
    missed = np.asarray(bm25["test"]["per_query"]["success@1"]) == 0  # test questions BM25's top-1 misses
    lines = [f"### {name} ({get_domain(name).scope} scope; test {len(base['test']['query_ids'])} questions, "
             f"dev {len(base['dev']['query_ids'])}; BM25's top passage misses {int(missed.sum())} test questions)",
             "", "| system | seeds | dev R@1 | dev MAP | test R@1 | test MAP | test R@1 where BM25 misses | "
             "test R@1 vs free hybrid (95 % CI) |", "|---|---|---|---|---|---|---|---|"]
    reference = np.asarray(free["test"]["per_query"]["success@1"])
    for label, (scores, seeds) in systems.items():
        dev = scores.get("dev", {}).get("mean")
        test = scores["test"]["mean"]
        hits = np.asarray(scores["test"]["per_query"]["success@1"])
        ci = gain_interval(hits, reference)
        gain = "" if ci is None or label.startswith("free") else f"{ci.gain:+.1%} [{ci.low:+.1%}, {ci.high:+.1%}]"
        dev_cells = f"{dev['success@1']:.3f} | {dev['map']:.3f}" if dev else "| "
        lines.append(f"| {label} | {seeds or ''} | {dev_cells} | {test['success@1']:.3f} | {test['map']:.3f} | "
                     f"{hits[missed].mean():.3f} | {gain} |")
    lines += ["", "Each floor against the design's objective (floor 1), same seeds, success@1 difference in points "
              "(paired bootstrap 95 %, per question mean over seeds):", ""]
    design = by_floor.get(1.0, [])
    for floor, mine in by_floor.items():
        seeds = [r["seed"] for r in mine]
        paired = [r for r in design if r["seed"] in seeds]
        if floor == 1 or len(paired) != len(mine):
            continue
        cells = []
        for split in ("dev", "test", "test_hybrid"):
            d, lo, hi = paired_bootstrap_difference(_mean(mine, split)["per_query"]["success@1"],
                                                    _mean(paired, split)["per_query"]["success@1"])
            cells.append(f"{split.replace('_', ' ')} {100 * d:+.1f} [{100 * lo:+.1f}, {100 * hi:+.1f}]")
        lines.append(f"- floor {floor:g}, seeds {seeds}: " + "; ".join(cells) + " (merge shares "
                     + ", ".join(f"{r['merge_share']:g}" for r in mine) + " vs "
                     + ", ".join(f"{r['merge_share']:g}" for r in paired) + ")")
    return lines + [""]


def doc_stage(args) -> None:
    lines = ["# Distil for what is served: BM25-residual question weights", "",
             f"Made by `.venv/bin/python -m bench.residual` ({datetime.now(timezone.utc):%Y-%m-%d}, "
             f"{platform.machine()} CPU, 2 cores). The main command's labels (400 train questions x K = 2, "
             "SmolLM2-135M), each domain's own training settings, the pipeline's training step (merge share "
             "chosen on dev) and retriever (the hybrid's fusion chosen on dev + unseen-document train questions, "
             "as faiss_index). Rows with seeds are means over the seeds' per-question scores; the interval "
             "is a paired bootstrap against the free hybrid, which needs no teacher call.", ""]
    for name in args.domain:
        lines += domain_rows(args, name)
    args.out.write_text("\n".join(lines))
    print(args.out)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--stage", choices=["label", "train", "doc"], required=True)
    ap.add_argument("--domain", action="append", required=True)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0])
    ap.add_argument("--floors", type=float, nargs="+", default=[1.0, 0.2], help="TrainConfig.residual_floor values")
    ap.add_argument("--student", default=DEFAULT_STUDENT)
    ap.add_argument("--teacher", default=DEFAULT_TEACHER)
    ap.add_argument("--workdir", type=Path, help="default <data dir>/hybrid_objective")
    ap.add_argument("--out", type=Path, default=REPO / "docs" / "residual.md")
    args = ap.parse_args(argv)
    if args.stage == "doc":
        doc_stage(args)
        return 0
    for name in args.domain:
        if args.stage == "label":
            domain = get_domain(name)
            n, k = (int(x) for x in BUDGET.split(":"))
            print(label_stage(workdir(args, name), load_corpus(domain.source_file(), domain.format), domain, k, n,
                              args.student, args.teacher))
        else:
            train_stage(args, name)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
