"""Do teacher-written questions add training signal? Questions for passages, mixed into UAE's training set.

The issue's lever "teacher-generated questions for passages no question touches" (GenQ / GPL style): the
teacher writes one question per train-document passage (`uae_core.labeling.generation.generate_questions`);
each becomes a training example whose candidates are its source passage and BM25's best other train-document
passage, labeled either `onehot` (the source is the positive: utility 1 vs 0) or `teacher` (the pipeline's
labeler: a generated question has no answer, so question likelihood, TeacherConfig.without_answers).

- stage `gen`: questions for the first `--passages` train-document passages (seeded shuffle), appended to
  gen.jsonl in chunks (resumable), with the generation rate;
- stage `train`: students per `--variant` (`uae`: the real questions' labels alone, the first N questions x
  K of bench/yes_no.py's label stage, the main command's budget; `uae+gen`: plus the generated questions;
  `gen`: the generated questions alone) and seed, TrainConfig's defaults, scored on dev and test;
- stage `doc`: docs/generated_questions.md from the records.

    .venv/bin/python bench/yes_no.py --stage label --questions 400 --k 2    # the real questions' labels
    .venv/bin/python bench/generated_questions.py --stage gen --passages 800
    .venv/bin/python bench/generated_questions.py --stage train --variant uae+gen gen --seeds 0
    .venv/bin/python bench/generated_questions.py --stage doc
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import sys
import time
from collections import defaultdict
from datetime import datetime, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from students import METRICS, base_scores, train_and_score  # noqa: E402  bench/students.py
from yes_no import budget_examples  # noqa: E402  bench/yes_no.py: its labels, its budgets

from uae_assets.domains import data_dir, get_domain  # noqa: E402
from uae_core.data import load_corpus  # noqa: E402
from uae_core.data.schema import Query  # noqa: E402
from uae_core.labeling.candidates import CandidateSet, build_candidate_sets  # noqa: E402
from uae_core.labeling.generation import generate_questions  # noqa: E402
from uae_core.labeling.label_store import LabelStore  # noqa: E402
from uae_core.labeling.labeler import label_candidates  # noqa: E402
from uae_core.labeling.teacher import TeacherConfig, load_teacher  # noqa: E402
from uae_core.training.examples import TrainExample, build_examples  # noqa: E402
from uae_core.weights import DEFAULT_STUDENT, DEFAULT_TEACHER  # noqa: E402

VARIANTS = ("uae", "uae+gen", "gen")
CHUNK = 32  # passages per generation chunk: what a crash can lose


def train_passages(corpus) -> list:
    """The passages of documents that hold train questions (no dev or test document is read)."""
    docs = {q.doc_id for q in corpus.queries if q.split == "train"}
    return [p for p in corpus.passages if p.doc_id in docs]


def gen_stage(args, corpus, domain) -> None:
    out = args.workdir / "gen.jsonl"
    done = {json.loads(line)["passage_id"] for line in out.read_text().splitlines()} if out.is_file() else set()
    order = train_passages(corpus)
    random.Random(0).shuffle(order)  # which passages get questions: a seeded sample
    todo = [p for p in order[:args.passages] if p.passage_id not in done]
    teacher = load_teacher(TeacherConfig(model=args.teacher), cache_dir=data_dir() / "models")
    started, written = time.perf_counter(), 0
    for i in range(0, len(todo), CHUNK):
        chunk = todo[i:i + CHUNK]
        questions = {q.gold_passage_ids[0]: q.question for q in generate_questions(teacher, chunk, batch_size=16)}
        with out.open("a") as f:  # a passage without a usable question is recorded too, so it is not retried
            for p in chunk:
                f.write(json.dumps({"passage_id": p.passage_id, "question": questions.get(p.passage_id)}) + "\n")
        written += len(chunk)
        print(f"{len(done) + written}/{len(done) + len(todo)} passages, "
              f"{written / (time.perf_counter() - started):.2f}/s", flush=True)
    if written:
        (args.workdir / "gen.json").write_text(json.dumps({
            "teacher_id": teacher.teacher_id, "passages": written,
            "passages_per_s": round(written / (time.perf_counter() - started), 2)}))


def generated_sets(args, corpus) -> tuple[list[CandidateSet], dict[str, Query]]:
    """Each generated question's candidates: its source passage, then the best other train-document passage
    by BM25 (the pipeline's candidate builder, top 2, so one of them is not the source)."""
    rows = [json.loads(line) for line in (args.workdir / "gen.jsonl").read_text().splitlines()]
    rows = [r for r in rows if r["question"]][:args.generated]
    pool = train_passages(corpus)
    doc_of = {p.passage_id: p.doc_id for p in pool}
    queries = {f"gen::{r['passage_id']}": Query(f"gen::{r['passage_id']}", doc_of[r["passage_id"]], r["question"],
                                                (), (), (r["passage_id"],), "train") for r in rows}
    mined = build_candidate_sets(pool, list(queries.values()), 2, "corpus", sources=("bm25",))
    sets = []
    for c in mined:
        source = queries[c.query_id].gold_passage_ids[0]
        sets.append(CandidateSet(c.query_id, (source, next(p for p in c.passage_ids if p != source))))
    return sets, queries


def generated_examples(args, corpus, passages, teacher) -> list[TrainExample]:
    sets, queries = generated_sets(args, corpus)
    if args.labels_for_generated == "onehot":
        return [TrainExample(queries[s.query_id].question, s.passage_ids,
                             tuple(passages[p].text for p in s.passage_ids), (1.0, 0.0), (True, False)) for s in sets]
    with LabelStore.open(args.workdir / "labels.duckdb") as store:  # only missing labels are computed
        label_candidates(teacher, store, sets, queries, passages)
        utilities = store.utilities(teacher.teacher_id, [s.query_id for s in sets])
    return build_examples(sets, utilities, queries, passages)


def real_examples(args, corpus, teacher_id: str) -> list[TrainExample]:
    """The real questions' examples at the main command's budget, from bench/yes_no.py's label stage."""
    _, examples = budget_examples(args.real, args.real / "labels.duckdb", corpus, args.budget, {"real": teacher_id})
    return examples["real"]


def train_stage(args, corpus, domain) -> None:
    passages = {p.passage_id: p for p in corpus.passages}
    teacher = load_teacher(TeacherConfig(model=args.teacher), cache_dir=data_dir() / "models")  # loaded once
    real = real_examples(args, corpus, teacher.teacher_id) if any("uae" in v for v in args.variant) else []
    generated = generated_examples(args, corpus, passages, teacher) if any("gen" in v for v in args.variant) else []
    for seed in args.seeds:
        for variant in args.variant:
            examples = (real if "uae" in variant else []) + (generated if "gen" in variant else [])
            row = {"variant": variant, "seed": seed, "budget": args.budget, "real": len(real) * ("uae" in variant),
                   "generated": len(generated) * ("gen" in variant),
                   "labels": args.labels_for_generated if "gen" in variant else "-",
                   **train_and_score(args.student, examples, seed, corpus, domain, args.workdir / "cache")}
            print(json.dumps(row), flush=True)
            with (args.workdir / "train.jsonl").open("a") as f:
                f.write(json.dumps(row) + "\n")


def doc_stage(args, corpus, domain) -> None:
    gen = json.loads((args.workdir / "gen.json").read_text())
    rows = [json.loads(line) for line in (args.workdir / "train.jsonl").read_text().splitlines() if line.strip()]
    written = [json.loads(line) for line in (args.workdir / "gen.jsonl").read_text().splitlines()]
    base = base_scores(args.workdir, args.student, corpus, domain)
    lines = [f"# Teacher-written questions as extra training signal ({args.domain})", "",
             f"Made by `bench/generated_questions.py` ({datetime.now(timezone.utc):%Y-%m-%d}, {platform.machine()} "
             "CPU, 2 cores). The teacher "
             f"(`{gen['teacher_id']}`) wrote one question per train-document passage, greedily, at "
             f"{gen['passages_per_s']} passages/s on this CPU; {sum(1 for r in written if r['question'])} of "
             f"{len(written)} passages got a usable question. Examples:", ""]
    lines += [f"- {r['question']}" for r in written[:8] if r["question"]]
    lines += ["", "Students: TrainConfig's defaults; base = the untrained MiniLM "
              f"(dev {base['dev']['success@1']:.3f} / {base['dev']['map']:.3f}, "
              f"test {base['test']['success@1']:.3f} / {base['test']['map']:.3f}). "
              "`uae`: the real questions' teacher labels at the main command's budget (questions:K); "
              "`gen`: generated questions, candidates = source passage + BM25's best other passage.", "",
              "| variant | budget | real questions | generated | generated labels | seed | dev R@1 | dev MAP | "
              "test R@1 | test MAP | train s |", "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['variant']} | {r['budget']} | {r['real']} | {r['generated']} | {r['labels']} | {r['seed']} "
                     f"| {r['dev']['success@1']:.3f} | {r['dev']['map']:.3f} | {r['test']['success@1']:.3f} | "
                     f"{r['test']['map']:.3f} | {r['train_s']} |")
    groups: dict[tuple, list[dict]] = defaultdict(list)
    for r in rows:
        groups[r["variant"], r["generated"], r["labels"]].append(r)
    lines += ["", "Means over seeds (dev score = mean of dev R@1 and MAP, what would choose a default):", "",
              "| variant | generated | generated labels | seeds | dev score | test R@1 | test MAP |",
              "|---|---|---|---|---|---|---|"]
    for (variant, n, labels), mine in groups.items():
        mean = {(s, m): sum(r[s][m] for r in mine) / len(mine) for s in ("dev", "test") for m in METRICS}
        lines.append(f"| {variant} | {n} | {labels} | {len(mine)} | "
                     f"{(mean['dev', 'success@1'] + mean['dev', 'map']) / 2:.4f} | {mean['test', 'success@1']:.3f} | "
                     f"{mean['test', 'map']:.3f} |")
    store_path = args.workdir / "labels.duckdb"
    if store_path.is_file():  # teacher labels of generated questions: is the source passage the most useful?
        with LabelStore.open(store_path, read_only=True) as store:
            labels = store.utilities(gen["teacher_id"])
        labels = {q: u for q, u in labels.items() if q.startswith("gen::")}
        if labels:
            top = sum(max(u, key=u.get) == q.removeprefix("gen::") for q, u in labels.items())
            lines += ["", f"Teacher labels (question likelihood) of {len(labels)} generated questions: the source "
                      f"passage is the most useful of the two candidates for {top / len(labels):.1%}."]
    lines += ["", "`train s` is wall time on a machine shared with other work (the teacher-labeled run shared "
              "the 2 cores with a test-suite run)."]
    args.out.write_text("\n".join(lines) + "\n")
    print(args.out)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--stage", choices=["gen", "train", "doc"], required=True)
    ap.add_argument("--domain", default="qasper")
    ap.add_argument("--passages", type=int, default=800, help="stage gen: passages to write questions for")
    ap.add_argument("--generated", type=int, default=800, help="stage train: generated questions to use")
    ap.add_argument("--labels-for-generated", choices=["onehot", "teacher"], default="onehot")
    ap.add_argument("--variant", nargs="+", choices=VARIANTS, default=list(VARIANTS))
    ap.add_argument("--budget", default="400:2", help="stage train: the real questions' N:K (the main command's)")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0])
    ap.add_argument("--student", default=DEFAULT_STUDENT)
    ap.add_argument("--teacher", default=DEFAULT_TEACHER)
    ap.add_argument("--workdir", type=Path, default=None, help="default <data dir>/generated_questions")
    ap.add_argument("--real", type=Path, default=None, help="bench/yes_no.py's workdir (default <data dir>/yes_no)")
    ap.add_argument("--out", type=Path, default=REPO / "docs" / "generated_questions.md")
    args = ap.parse_args(argv)
    args.workdir = args.workdir or data_dir() / "generated_questions"
    args.workdir.mkdir(parents=True, exist_ok=True)
    args.real = args.real or data_dir() / "yes_no"
    domain = get_domain(args.domain)
    corpus = load_corpus(domain.source_file(), domain.format)
    {"gen": gen_stage, "train": train_stage, "doc": doc_stage}[args.stage](args, corpus, domain)
    return 0


if __name__ == "__main__":
    sys.exit(main())
