"""Which training settings the main command should use at its budget: students distilled from the same
labels with different settings and numbers of train questions, scored on the domain's dev and test splits.

Stage `label` builds the pipeline's candidate sets (BM25 + the base encoder, corpus scope) for the first
`--questions` train questions and labels them with the default teacher into a DuckDB store (resumable:
only missing labels are computed). Stage `train` distils one student per `--run NAME:N:JSON`
(N train questions, 0 = the base encoder; TrainConfig fields as JSON) and appends its dev/test metrics to
<workdir>/runs.jsonl; stage `doc` renders docs/default_settings.md from that file alone.

    .venv/bin/python bench/default_settings.py --stage label --questions 900
    .venv/bin/python bench/default_settings.py --stage train --run 'design-n200:200:{}' \\
        --run 'final-n700:700:{"epochs": 1, "learning_rate": 1e-5, "batch_queries": 32, "tau_s": 0.1, "lam": 0.75}'
    .venv/bin/python bench/default_settings.py --stage doc
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from uae_assets.domains import data_dir, get_domain  # noqa: E402
from uae_core.data import load_corpus  # noqa: E402
from uae_core.evaluation.compare import split_metrics  # noqa: E402
from uae_core.labeling.candidates import CandidateConfig, build_sticky, select_train_queries  # noqa: E402
from uae_core.labeling.label_store import LabelStore  # noqa: E402
from uae_core.labeling.labeler import label_candidates  # noqa: E402
from uae_core.labeling.teacher import TeacherConfig, load_teacher  # noqa: E402
from uae_core.retrieval.encoder import load_student  # noqa: E402
from uae_core.training.examples import build_examples  # noqa: E402
from uae_core.training.trainer import TrainConfig, train_student  # noqa: E402
from uae_core.weights import DEFAULT_STUDENT  # noqa: E402

METRICS = ("success@1", "map")


def load(domain: str):
    d = get_domain(domain)
    return load_corpus(d.path, d.format)


def label_stage(args, corpus) -> None:
    config = CandidateConfig(k=args.k, max_train_queries=args.questions, sticky=False)
    result = build_sticky(corpus.passages, corpus.queries, config, "corpus", load_student(DEFAULT_STUDENT),
                          args.workdir / "candidates.json", args.workdir / "cache")  # what candidate_sets calls
    (args.workdir / "sets.json").write_text(json.dumps({s.query_id: list(s.passage_ids) for s in result.sets}))
    teacher = load_teacher(TeacherConfig(), cache_dir=data_dir() / "models")
    with LabelStore.open(args.labels) as store:
        stats = label_candidates(teacher, store, result.sets, {q.query_id: q for q in corpus.queries},
                                 {p.passage_id: p for p in corpus.passages})
    print(json.dumps({"teacher_id": teacher.teacher_id, **stats.as_dict()}))


def train_stage(args, corpus) -> None:
    from uae_core.labeling.candidates import CandidateSet

    raw = json.loads((args.workdir / "sets.json").read_text())
    order = [q.query_id for q in select_train_queries(corpus.queries, 0) if q.query_id in raw]
    queries, passages = {q.query_id: q for q in corpus.queries}, {p.passage_id: p for p in corpus.passages}
    teacher_id = load_teacher(TeacherConfig(), cache_dir=data_dir() / "models").teacher_id
    for spec in args.run:
        name, n, fields = spec.split(":", 2)
        sets = [CandidateSet(q, tuple(raw[q][:args.k])) for q in order[:int(n)]]
        with LabelStore.open(args.labels, read_only=True) as store:
            utilities = store.utilities(teacher_id, [s.query_id for s in sets])
        examples = build_examples(sets, utilities, queries, passages)
        config = TrainConfig(**json.loads(fields))
        model = load_student(DEFAULT_STUDENT)
        started = time.perf_counter()
        if examples:  # N = 0: the base encoder itself
            train_student(model, examples, config, show_progress=False)
        row = {"name": name, "questions": len(examples), "config": json.loads(fields),
               "train_s": round(time.perf_counter() - started, 1)}
        for split in ("dev", "test"):  # what uae_encoder's promotion uses for dev
            metrics = split_metrics(model, corpus.passages, corpus.queries, "corpus", args.workdir / "cache", split)
            row[split] = {m: round(metrics[m], 4) for m in METRICS}
        print(json.dumps(row), flush=True)
        with (args.workdir / "runs.jsonl").open("a") as f:
            f.write(json.dumps(row) + "\n")


def doc_stage(args) -> None:
    rows = [json.loads(line) for line in (args.workdir / "runs.jsonl").read_text().splitlines() if line.strip()]
    lines = [f"# Training settings at the main command's budget ({args.domain}, K = {args.k})", "",
             f"Made by `bench/default_settings.py` ({datetime.now(timezone.utc):%Y-%m-%d}, {platform.machine()} "
             "CPU, 2 cores, shared with other work; one seed each). Settings not named are TrainConfig's "
             "defaults at the time of the run; `base` is the untrained MiniLM.", "",
             "| run | train questions | settings | dev R@1 | dev MAP | test R@1 | test MAP | train s |",
             "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        settings = ", ".join(f"{k} {v}" for k, v in r["config"].items()) or "-"
        lines.append(f"| {r['name']} | {r['questions']} | {settings} | {r['dev']['success@1']:.3f} | "
                     f"{r['dev']['map']:.3f} | {r['test']['success@1']:.3f} | {r['test']['map']:.3f} | "
                     f"{r['train_s']} |")
    trained = [r for r in rows if r["questions"]]
    if trained:
        best = max(trained, key=lambda r: (r["dev"]["success@1"] + r["dev"]["map"]) / 2)
        base = next((r for r in rows if not r["questions"]), None)
        lines += ["", f"Best on dev (mean of R@1 and MAP): **{best['name']}**."]
        if base:
            gain = {m: best["test"][m] / base["test"][m] - 1 for m in METRICS}
            lines.append(f"Its test gain over the base: R@1 {gain['success@1']:+.1%}, MAP {gain['map']:+.1%} "
                         f"(one seed, {args.domain} test split, corpus scope).")
    args.out.write_text("\n".join(lines) + "\n")
    print(args.out)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--stage", choices=["label", "train", "doc"], required=True)
    ap.add_argument("--domain", default="qasper")
    ap.add_argument("--questions", type=int, default=900, help="train questions to label (stage label)")
    ap.add_argument("--k", type=int, default=4)
    ap.add_argument("--run", action="append", default=[], help="NAME:N:JSON of TrainConfig fields (stage train)")
    ap.add_argument("--workdir", type=Path, default=None, help="default <data dir>/default_settings")
    ap.add_argument("--labels", type=Path, default=None, help="default <workdir>/labels.duckdb")
    ap.add_argument("--out", type=Path, default=REPO / "docs" / "default_settings.md")
    args = ap.parse_args(argv)
    args.workdir = args.workdir or data_dir() / "default_settings"
    args.workdir.mkdir(parents=True, exist_ok=True)
    args.labels = args.labels or args.workdir / "labels.duckdb"
    if args.stage == "doc":
        doc_stage(args)
        return 0
    corpus = load(args.domain)
    (label_stage if args.stage == "label" else train_stage)(args, corpus)
    return 0


if __name__ == "__main__":
    sys.exit(main())
