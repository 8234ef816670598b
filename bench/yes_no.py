"""Is a bare Yes/No reference answer a usable teacher target? `TeacherConfig.yes_no_answers` side by side.

`score` scores log p("Yes" | passage, question) like any answer; `drop` (the default) labels such a question
by its question likelihood, log p(question | passage) - log p(question), as a question without an answer.
Both are computed by the pipeline's candidate builder, labeler and label store (only missing labels), then:

- stage `label`: candidate sets (BM25 + the base encoder, the domain's scope) for the first `--questions`
  train questions (0 = all) at `--k`, labeled under both policies; per answer type, how often the teacher's
  most useful candidate is gold evidence, where the candidates hold some (the signal's quality);
- stage `train`: a student per label budget (`--budget N:K`: the label stage's first N sets, cut to their
  first K candidates), policy and seed, with the trainer's defaults, scored on the dev and test splits;
- stage `doc`: docs/yes_no.md from the stage records alone.

    .venv/bin/python bench/yes_no.py --stage label --questions 0 --k 8
    .venv/bin/python bench/yes_no.py --stage train --budget 400:2 --budget 200:4 --seeds 0 1 2
    .venv/bin/python bench/yes_no.py --stage doc
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
from collections import defaultdict
from dataclasses import asdict
from datetime import datetime, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from students import METRICS, base_scores, train_and_score  # noqa: E402  bench/students.py

from uae_assets.domains import data_dir, get_domain  # noqa: E402
from uae_core.data import load_corpus  # noqa: E402
from uae_core.labeling.answers import is_yes_no  # noqa: E402
from uae_core.labeling.candidates import CandidateConfig, CandidateSet, build_sticky, teacher_top_is_gold  # noqa: E402
from uae_core.labeling.label_store import LabelStore  # noqa: E402
from uae_core.labeling.labeler import label_candidates  # noqa: E402
from uae_core.labeling.teacher import TeacherConfig, load_teacher  # noqa: E402
from uae_core.retrieval.encoder import load_student  # noqa: E402
from uae_core.training.examples import build_examples  # noqa: E402
from uae_core.weights import DEFAULT_STUDENT, DEFAULT_TEACHER  # noqa: E402

POLICIES = ("score", "drop")


def answer_type(query) -> str:
    """The first annotator's answer: yes/no, or its length in words."""
    if not query.answers:
        return "none"
    if is_yes_no(query.answers[0]):
        return "yes/no"
    n = len(query.answers[0].split())
    return "1-3 words" if n <= 3 else "4-10 words" if n <= 10 else "over 10 words"


def teacher_for(args, policy: str):
    return load_teacher(TeacherConfig(model=args.teacher, yes_no_answers=policy), cache_dir=data_dir() / "models")


def label_stage(args, corpus, domain) -> None:
    config = CandidateConfig(k=args.k, max_train_queries=args.questions, sticky=False)
    result = build_sticky(corpus.passages, corpus.queries, config, domain.scope, load_student(args.student),
                          args.workdir / "candidates.json", args.workdir / "cache")  # what candidate_sets calls
    sets, queries = result.sets, {q.query_id: q for q in corpus.queries}
    passages = {p.passage_id: p for p in corpus.passages}
    (args.workdir / "sets.json").write_text(json.dumps({s.query_id: list(s.passage_ids) for s in sets}))
    record = {"domain": args.domain, "k": args.k, "questions": len(sets), "gold_recall": result.gold_recall,
              "policies": {}}
    for policy in POLICIES:
        teacher = teacher_for(args, policy)
        with LabelStore.open(args.labels) as store:
            store.register_teacher(teacher.teacher_id, json.dumps(asdict(teacher.config), sort_keys=True))
            stats = label_candidates(teacher, store, sets, queries, passages)
            utilities = store.utilities(teacher.teacher_id, [s.query_id for s in sets])
        hits: dict[str, list[bool]] = defaultdict(list)
        for qid, is_gold in teacher_top_is_gold(utilities, queries).items():
            hits[answer_type(queries[qid])].append(is_gold)
        record["policies"][policy] = {
            "teacher_id": teacher.teacher_id, "labeling": stats.as_dict(),
            "top1_is_gold": {t: {"questions": len(v), "rate": sum(v) / len(v)} for t, v in sorted(hits.items())},
            "top1_is_gold_all": sum(sum(v) for v in hits.values()) / max(sum(len(v) for v in hits.values()), 1)}
        print(json.dumps({policy: record["policies"][policy]["top1_is_gold_all"], **stats.as_dict()}), flush=True)
    (args.workdir / "label.json").write_text(json.dumps(record, indent=1))


def budget_examples(workdir: Path, labels: Path, corpus, budget: str,
                    teacher_ids: dict[str, str]) -> tuple[list[CandidateSet], dict[str, list]]:
    """A label budget "N:K" (the label stage's first N sets in `workdir`, cut to their first K candidates):
    the sets and, per name in `teacher_ids`, the training examples of that teacher's labels in `labels`."""
    raw = json.loads((workdir / "sets.json").read_text())  # the label stage's, in train order
    queries, passages = {q.query_id: q for q in corpus.queries}, {p.passage_id: p for p in corpus.passages}
    n, k = (int(x) for x in budget.split(":"))
    sets = [CandidateSet(q, tuple(p[:k])) for q, p in list(raw.items())[:n]]
    with LabelStore.open(labels, read_only=True) as store:  # each teacher's labels, read once
        examples = {name: build_examples(sets, store.utilities(teacher_id, [s.query_id for s in sets]), queries,
                                         passages)
                    for name, teacher_id in teacher_ids.items()}
    return sets, examples


def train_stage(args, corpus, domain) -> None:
    queries = {q.query_id: q for q in corpus.queries}
    for budget in args.budget:
        k = int(budget.split(":")[1])
        sets, examples = budget_examples(args.workdir, args.labels, corpus, budget,
                                         {policy: teacher_for(args, policy).teacher_id for policy in args.policies})
        for seed in args.seeds:
            for policy in args.policies:
                row = {"policy": policy, "seed": seed, "questions": len(examples[policy]), "k": k,
                       "yes_no_questions": sum(answer_type(queries[s.query_id]) == "yes/no" for s in sets),
                       **train_and_score(args.student, examples[policy], seed, corpus, domain,
                                         args.workdir / "cache")}
                print(json.dumps(row), flush=True)
                with (args.workdir / "train.jsonl").open("a") as f:
                    f.write(json.dumps(row) + "\n")


def doc_stage(args, corpus, domain) -> None:
    label = json.loads((args.workdir / "label.json").read_text())
    rows = [json.loads(line) for line in (args.workdir / "train.jsonl").read_text().splitlines() if line.strip()]
    base = base_scores(args.workdir, args.student, corpus, domain)
    p = label["policies"]
    lines = [f"# Yes/No reference answers as teacher targets ({args.domain})", "",
             f"Made by `bench/yes_no.py` ({datetime.now(timezone.utc):%Y-%m-%d}, {platform.machine()} CPU, 2 cores). "
             "`TeacherConfig.yes_no_answers`: `score` (the default, the design's rule) scores a bare Yes/No answer "
             "like any answer, log p(\"Yes\" | passage, question); `drop` labels such a question by its other "
             "annotators' answers, else by its question likelihood, log p(question | passage) - log p(question), "
             "as one without an answer.", "",
             "## The signal: is the teacher's most useful candidate the gold evidence?", "",
             f"{label['questions']} train questions, K = {label['k']} candidates (BM25 + the base encoder); "
             f"gold among the candidates for {label['gold_recall']:.1%} of them. Per answer type (the first "
             "annotator's), over the questions whose candidates hold gold:", "",
             "| answer type | questions | `score` | `drop` |", "|---|---|---|---|"]
    for t, v in p["drop"]["top1_is_gold"].items():
        lines.append(f"| {t} | {v['questions']} | {p['score']['top1_is_gold'][t]['rate']:.1%} | {v['rate']:.1%} |")
    lines += [f"| all | | {p['score']['top1_is_gold_all']:.1%} | {p['drop']['top1_is_gold_all']:.1%} |", "",
              f"A random candidate is gold about {1 / label['k']:.1%} of the time (one gold among {label['k']}).", ""]
    if rows:
        lines += ["## Students distilled from each policy's labels", "",
                  "Per label budget (the first N train questions, the first K candidates of each), TrainConfig's "
                  "defaults; base = the untrained MiniLM "
                  f"(dev {base['dev']['success@1']:.3f} / {base['dev']['map']:.3f}, "
                  f"test {base['test']['success@1']:.3f} / {base['test']['map']:.3f}).", "",
                  "| questions x K | policy | seed | dev R@1 | dev MAP | test R@1 | test MAP | train s |",
                  "|---|---|---|---|---|---|---|---|"]
        for r in sorted(rows, key=lambda r: (-r["questions"], r["k"], r["policy"] != "score", r["seed"])):
            lines.append(f"| {r['questions']} x {r['k']} | {r['policy']} | {r['seed']} | {r['dev']['success@1']:.3f} | "
                         f"{r['dev']['map']:.3f} | {r['test']['success@1']:.3f} | {r['test']['map']:.3f} | "
                         f"{r['train_s']} |")
        lines += ["", "Means over seeds (dev score: the mean of dev R@1 and MAP, what chooses a setting):", "",
                  "| questions x K | yes/no questions | policy | seeds | dev R@1 | dev MAP | dev score | test R@1 | "
                  "test MAP | test R@1 vs base |", "|---|---|---|---|---|---|---|---|---|---|"]
        groups: dict[tuple, list[dict]] = defaultdict(list)
        for r in rows:
            groups[r["questions"], r["k"], r["policy"]].append(r)
        for (n, k, policy), mine in sorted(groups.items(), key=lambda g: (-g[0][0], g[0][1], g[0][2] != "score")):
            mean = {(s, m): sum(r[s][m] for r in mine) / len(mine) for s in ("dev", "test") for m in METRICS}
            base_r1 = base["test"]["success@1"]
            gain = f"{mean['test', 'success@1'] / base_r1 - 1:+.1%}" if base_r1 else "n/a"
            lines.append(f"| {n} x {k} | {mine[0]['yes_no_questions']} | {policy} | {len(mine)} | "
                         f"{mean['dev', 'success@1']:.3f} | {mean['dev', 'map']:.3f} | "
                         f"{(mean['dev', 'success@1'] + mean['dev', 'map']) / 2:.4f} | "
                         f"{mean['test', 'success@1']:.3f} | {mean['test', 'map']:.3f} | {gain} |")
    args.out.write_text("\n".join(lines) + "\n")
    print(args.out)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--stage", choices=["label", "train", "doc"], required=True)
    ap.add_argument("--domain", default="qasper")
    ap.add_argument("--questions", type=int, default=0, help="train questions to label, 0 = all (stage label)")
    ap.add_argument("--k", type=int, default=8, help="candidates per question (stage label)")
    ap.add_argument("--budget", action="append", default=None,
                    help="stage train, N:K: the first N labeled questions, the first K candidates of each "
                         "(repeatable; default 400:2, the main command's)")
    ap.add_argument("--policies", nargs="+", choices=POLICIES, default=list(POLICIES), help="stage train")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0])
    ap.add_argument("--student", default=DEFAULT_STUDENT)
    ap.add_argument("--teacher", default=DEFAULT_TEACHER)
    ap.add_argument("--workdir", type=Path, default=None, help="default <data dir>/yes_no")
    ap.add_argument("--labels", type=Path, default=None, help="default <workdir>/labels.duckdb")
    ap.add_argument("--out", type=Path, default=REPO / "docs" / "yes_no.md")
    args = ap.parse_args(argv)
    args.budget = args.budget or ["400:2"]
    args.workdir = args.workdir or data_dir() / "yes_no"
    args.workdir.mkdir(parents=True, exist_ok=True)
    args.labels = args.labels or args.workdir / "labels.duckdb"
    domain = get_domain(args.domain)
    corpus = load_corpus(domain.source_file(), domain.format)
    {"label": label_stage, "train": train_stage, "doc": doc_stage}[args.stage](args, corpus, domain)
    return 0


if __name__ == "__main__":
    sys.exit(main())
