"""The capacity question: the 22M MiniLM-L6 student against the 110M all-mpnet-base-v2, side by side.

Speed, this machine: seconds per 1k passages encoded (the pipeline's `encode`, the domain's own passages)
and per training step (the pipeline's training step, `train_and_merge`, on a workdir's stored labels, the product's
TrainConfig). With `--quality`, each student is also trained on every stored label by the pipeline's
training step and scored on dev and test (bench.active_labeling's `curve_point`, policy `all`).

    .venv/bin/python -m bench.capacity --domain covidqa --workdir data/hybrid_objective/covidqa [--quality]

Two quality runs made apart (each student's own `--out`), compared question by question:

    .venv/bin/python -m bench.capacity --compare data/capacity/minilm_quality/covidqa.json \
        data/capacity/mpnet_quality/covidqa.json
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

import numpy as np

from bench.active_labeling import curve_point
from bench.results import domain_training_settings
from bench.students import SPLITS, load_teacher_for, score_cells
from uae_assets.domains import data_dir, get_domain
from uae_core.data import load_corpus
from uae_core.evaluation.stats import paired_bootstrap_difference
from uae_core.labeling.candidates import CandidateSet
from uae_core.labeling.label_store import LabelStore
from uae_core.pipeline import train_and_merge
from uae_core.retrieval.encoder import encode, load_student
from uae_core.training.examples import build_examples
from uae_core.training.trainer import TrainConfig
from uae_core.weights import DEFAULT_STUDENT, DEFAULT_TEACHER

STUDENTS = (DEFAULT_STUDENT, "packaged:all-mpnet-base-v2")


def speed(student: str, domain_name: str, workdir: Path, teacher: str, passages: int, steps: int) -> dict:
    """Seconds per 1k passages encoded and per training step (after one warm-up step), one student."""
    domain = get_domain(domain_name)
    corpus = load_corpus(domain.source_file(), domain.format)
    config = TrainConfig(**domain_training_settings(domain_name))
    model = load_student(student, config.max_seq_length)
    texts = [p.text for p in corpus.passages[:passages]]
    started = time.perf_counter()
    encode(model, texts)
    encode_s = time.perf_counter() - started
    pool = [CandidateSet(q, tuple(p)) for q, p in json.loads((workdir / "sets.json").read_text()).items()]
    sets = pool[:config.batch_queries * (steps + 1)]
    with LabelStore.open(workdir / "labels.duckdb", read_only=True) as store:
        utilities = store.utilities(load_teacher_for(teacher).teacher_id, [s.query_id for s in sets])
    examples = build_examples(sets, utilities, {q.query_id: q for q in corpus.queries},
                              {p.passage_id: p for p in corpus.passages})
    stamps: list[float] = []
    train_and_merge(model, examples, replace(config, epochs=1, merge_shares=(0.0,)), None,  # no merge to score
                    on_step=lambda *_: stamps.append(time.perf_counter()), show_progress=False)
    per_step = (stamps[-1] - stamps[0]) / (len(stamps) - 1)
    return {"student": student, "parameters_m": round(sum(p.numel() for p in model.parameters()) / 1e6, 1),
            "dim": int(model.encode(["x"]).shape[1]), "encode_s_per_1k": round(encode_s * 1000 / len(texts), 1),
            "step_s": round(per_step, 2), "steps_timed": len(stamps) - 1}


def page(domain: str, rows: list[dict], quality: list[dict], command: str) -> str:
    lines = ["# The capacity question: MiniLM-L6 against mpnet-base (bench.capacity)", "",
             f"`{command}` on {platform.machine()} CPU ({platform.node()}), "
             f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC, fp32. Speed on {domain}'s passages and stored "
             "labels, the product's TrainConfig (max_seq_length 256, 8 questions a step).", "",
             "| student | parameters | dim | encode s / 1k passages | s / training step |", "|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['student']} | {r['parameters_m']}M | {r['dim']} | {r['encode_s_per_1k']} | {r['step_s']} |")
    if len(rows) == 2:
        lines += ["", f"mpnet / MiniLM: encode {rows[1]['encode_s_per_1k'] / rows[0]['encode_s_per_1k']:.1f}x, "
                      f"training step {rows[1]['step_s'] / rows[0]['step_s']:.1f}x."]
    if quality:
        lines += ["", "Trained on every stored label (policy `all`): the pipeline's training step, the domain's "
                  "settings, the merge share chosen on dev:", "",
                  "| student | pairs | seed | merge share | dev R@1 | dev MAP | test R@1 | test MAP | seconds |",
                  "|---|---|---|---|---|---|---|---|---|"]
        for q in quality:
            lines.append(f"| {label(q)} | {q['pairs']} | {q['seed']} | {q['merge_share']} | {score_cells(q)} | "
                         f"{q['seconds']} |")
    return "\n".join(lines) + "\n"


def label(row: dict) -> str:
    """A quality row's name: its student and the training settings it changed (`--set`)."""
    return " ".join([row["student"], *(f"{k}={v}" for k, v in sorted(row.get("settings", {}).items()))])


def parse_settings(pairs: list[str]) -> dict:
    """`--set KEY=VALUE` pairs as TrainConfig fields; values read as YAML (numbers, lists)."""
    import yaml

    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep:
            raise SystemExit(f"--set {pair!r}: expected KEY=VALUE, a TrainConfig field")
        out[key] = yaml.safe_load(value)
    try:
        TrainConfig(**out)  # a wrong name or value fails here, before any training
    except (TypeError, ValueError) as e:
        raise SystemExit(f"--set {' '.join(pairs)}: {e}") from None
    return out


def compare(baseline: dict, other: dict) -> list[str]:
    """Lines comparing two quality rows of the same domain and labels: each split's success@1 difference
    (other - baseline), in points, with its paired bootstrap 95 % interval over the questions."""
    lines = [f"{label(other)} - {label(baseline)} ({other['domain']}, {other['pairs']} pairs, "
             f"seed {other['seed']}; success@1, points, paired bootstrap 95 %):"]
    for split in SPLITS:
        qids = sorted(baseline["per_query"][split])
        if sorted(other["per_query"][split]) != qids:
            raise ValueError(f"{split}: the two rows were scored on different questions")
        diff, low, high = paired_bootstrap_difference(np.array([other["per_query"][split][q] for q in qids]),
                                                      np.array([baseline["per_query"][split][q] for q in qids]))
        lines.append(f"  {split} ({len(qids)} questions): {100 * diff:+.1f} [{100 * low:+.1f}, {100 * high:+.1f}]")
    return lines


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--compare", nargs=2, type=Path, metavar=("BASELINE_JSON", "OTHER_JSON"),
                    help="compare two quality runs' result files question by question, and stop")
    ap.add_argument("--domain")
    ap.add_argument("--workdir", type=Path, help="a label stage's workdir (sets.json, labels.duckdb)")
    ap.add_argument("--student", action="append", default=None, help=f"default: {' and '.join(STUDENTS)}")
    ap.add_argument("--teacher", default=DEFAULT_TEACHER)
    ap.add_argument("--passages", type=int, default=1000)
    ap.add_argument("--steps", type=int, default=4)
    ap.add_argument("--quality", action="store_true", help="also train each on every stored label and score it")
    ap.add_argument("--no-speed", action="store_true", help="skip the speed measurement (with --quality)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                    help="a training setting replacing the domain's (with --quality), e.g. epochs=1")
    ap.add_argument("--out", type=Path, default=data_dir() / "capacity")
    args = ap.parse_args(argv)
    settings = parse_settings(args.set)
    if args.compare:
        baseline, other = (json.loads(p.read_text())["quality"][0] for p in args.compare)
        print("\n".join(compare(baseline, other)))
        return 0
    if not args.domain or not args.workdir:
        ap.error("--domain and --workdir are needed (unless --compare)")
    args.out.mkdir(parents=True, exist_ok=True)
    rows, quality = [], []
    for student in args.student or STUDENTS:
        if not args.no_speed:
            rows.append(speed(student, args.domain, args.workdir, args.teacher, args.passages, args.steps))
            print(json.dumps(rows[-1]), flush=True)
        if args.quality:
            quality.append({"student": student, "settings": settings,
                            **curve_point(args.domain, args.workdir, "all", 0, args.seed, student, args.teacher,
                                          settings)})
            print(json.dumps(quality[-1]), flush=True)
        (args.out / f"{args.domain}.json").write_text(json.dumps({"speed": rows, "quality": quality}, indent=1))
    command = "python -m bench.capacity " + " ".join(argv if argv is not None else sys.argv[1:])
    (args.out / f"{args.domain}.md").write_text(page(args.domain, rows, quality, command))
    print(args.out / f"{args.domain}.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
