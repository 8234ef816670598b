"""Which questions should choose the hybrid's fusion? The dev split alone, or dev plus unused train questions.

Per domain: the main command's student (the pipeline's training step, train_and_merge, with TrainConfig's
defaults on 400 x K = 2 labels of bench.weight_merge's label stage, `--seeds` (0 by default), merged back by
the share the pipeline keeps on dev) and the base MiniLM;
each hybrid's fusion is chosen by the pipeline's `tune_hybrid` (one-SE rule, and the plain argmax) on three
question sets and scored on the test split:
  dev                dev questions only (the choice before)
  + unseen docs      plus train questions from documents none of the 400 trained questions came from
                     (`tuning_questions(queries, trained)`, what faiss_index and eval_report use)
  + all unused       plus every train question not trained on, documents shared or not (leaks the student's
                     training passages: shown to say why it is not used)
Needs bench.weight_merge's label stage for each domain (its workdir, <data dir>/weight_merge/<domain>).

    .venv/bin/python -m bench.weight_merge --stage label --domain qasper     # and --domain covidqa
    .venv/bin/python -m bench.fusion_tuning --domain qasper --domain covidqa
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
from datetime import datetime, timezone
from pathlib import Path

from bench.students import budget_examples, load_teacher_for
from uae_assets.domains import data_dir, get_domain
from uae_core.data import load_corpus
from uae_core.evaluation.compare import dev_metrics, tune_hybrid, tuning_questions
from uae_core.evaluation.report import run_system
from uae_core.pipeline import train_and_merge
from uae_core.retrieval.encoder import cached_encode, load_student
from uae_core.retrieval.fusion import hybrid_system
from uae_core.retrieval.index import build_index
from uae_core.retrieval.systems import bm25_system, dense_system
from uae_core.training.trainer import TrainConfig
from uae_core.weights import DEFAULT_STUDENT, DEFAULT_TEACHER

REPO = Path(__file__).resolve().parent.parent


def student(args, seed: int, domain, corpus, workdir: Path, cache: Path):
    """The main command's student on these labels: the pipeline's training step (trained, then merged by the
    share dev prefers)."""
    sets, examples = budget_examples(workdir, corpus, args.budget, load_teacher_for(args.teacher).teacher_id)
    model = load_student(args.student)
    _, choice = train_and_merge(model, examples, TrainConfig(seed=seed),
                                lambda m: dev_metrics(m, corpus.passages, corpus.queries, domain.scope, cache),
                                show_progress=False)
    return model, [s.query_id for s in sets], choice.share


def rows_for(args, name: str, seed: int) -> list[dict]:
    domain = get_domain(name)
    corpus = load_corpus(domain.source_file(), domain.format)
    workdir = args.workdir or data_dir() / "weight_merge" / name
    cache = data_dir() / "cache" / "embeddings"
    passages, scope = corpus.passages, domain.scope
    test = [q for q in corpus.queries if q.split == "test" and q.gold_passage_ids]
    uae, trained, share = student(args, seed, domain, corpus, workdir, cache)
    untrained = [q for q in corpus.queries if q.query_id not in set(trained)]
    sets = {"dev": (corpus.queries, None),  # (questions, trained ids): tune_hybrid's tuning_questions
            "+ unseen docs": (corpus.queries, trained),
            "+ all unused": (untrained, [])}  # no document excluded
    bm25 = bm25_system(passages)
    rows = []
    for encoder, model in (("base", load_student(args.student)), (f"uae (merge {share:g})", uae)):
        dense = dense_system(model, build_index(cached_encode(model, [p.text for p in passages], cache)))

        def test_metrics(ranker) -> list[float]:
            m = run_system(ranker, passages, test, scope, latency_queries=0).metrics
            return [round(m["success@1"], 4), round(m["map"], 4)]

        alone = {"bm25": test_metrics(bm25), "encoder": test_metrics(dense)}
        for set_name, (questions, ids) in sets.items():
            for rule in ("one_se", "argmax"):
                fusion, _ = tune_hybrid(dense, bm25, passages, questions, scope, rule=rule, trained=ids)
                rows.append({"domain": name, "seed": seed, "encoder": encoder, "tuned_on": set_name, "rule": rule,
                             "questions": len(tuning_questions(questions, ids)), "weight": fusion.dense_weight,
                             "alone": alone, "test": test_metrics(hybrid_system(dense, bm25, fusion))})
                print(json.dumps(rows[-1]), flush=True)
    return rows


def page(rows: list[dict], command: str) -> str:
    lines = ["# Which questions choose the hybrid's fusion (bench.fusion_tuning)", "",
             f"`{command}` on {platform.machine()} CPU, {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC. "
             "Each domain's student: the main command's settings (N x K labels of bench.weight_merge's label "
             "stage as the command says, 400 x 2 by default, merge share kept on dev). "
             "Fusion: convex, chosen by `tune_hybrid` on the "
             "question set named, scored on the test split (R@1 / MAP). `+ unseen docs` is what faiss_index "
             "and eval_report use (`tuning_questions`): dev plus the train questions from documents no "
             "trained question came from; `+ all unused` adds the unused questions of trained documents too.",
             "", "| domain | seed | encoder | BM25 alone | encoder alone | tuned on | questions | rule | UAE weight | "
             "hybrid test R@1 | hybrid test MAP |", "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        bm25 = r["alone"]["bm25"]
        lines.append(f"| {r['domain']} | {r['seed']} | {r['encoder']} | {bm25[0]:.3f} / {bm25[1]:.3f} | "
                     f"{r['alone']['encoder'][0]:.3f} / {r['alone']['encoder'][1]:.3f} | {r['tuned_on']} | "
                     f"{r['questions']} | {r['rule']} | {r['weight']:g} | {r['test'][0]:.3f} | {r['test'][1]:.3f} |")
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--domain", action="append", default=None, help="qasper (default), covidqa, ...")
    ap.add_argument("--workdir", type=Path, default=None,
                    help="bench.weight_merge's label stage (default <data dir>/weight_merge/<domain>)")
    ap.add_argument("--budget", default="400:2", help="N:K of the label stage's labels")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0], help="the student's training seeds")
    ap.add_argument("--student", default=DEFAULT_STUDENT)
    ap.add_argument("--teacher", default=DEFAULT_TEACHER)
    ap.add_argument("--out", type=Path, default=REPO / "docs" / "fusion_tuning.md")
    args = ap.parse_args(argv)
    rows = [r for name in (args.domain or ["qasper"]) for seed in args.seeds for r in rows_for(args, name, seed)]
    args.out.write_text(page(rows, "python -m bench.fusion_tuning "
                             + " ".join(argv if argv is not None else sys.argv[1:])))
    print(args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
