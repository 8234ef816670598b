"""Which questions should choose the hybrid's fusion? The dev split alone, or dev plus unused train questions.

Per domain: the main command's student (TrainConfig's defaults on bench/yes_no.py's 400 x K = 2 `score`
labels, `--seeds` (0 by default), merged back by the share the pipeline keeps on dev) and the base MiniLM;
each hybrid's fusion is chosen by the pipeline's `tune_hybrid` (one-SE rule, and the plain argmax) on three
question sets and scored on the test split:
  dev                dev questions only (the choice before)
  + unseen docs      plus train questions from documents none of the 400 trained questions came from
                     (`tuning_questions(queries, trained)`, what faiss_index and eval_report use)
  + all unused       plus every train question not trained on, documents shared or not (leaks the student's
                     training passages: shown to say why it is not used)
Needs bench/yes_no.py's label stage for each domain (qasper: data/yes_no, covidqa: data/weight_merge_covidqa).

    .venv/bin/python bench/fusion_tuning.py --domain qasper --domain covidqa
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
from datetime import datetime, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from yes_no import budget_examples, teacher_for  # noqa: E402  bench/yes_no.py: its labels, its budgets

from uae_assets.domains import data_dir, get_domain  # noqa: E402
from uae_core.data import load_corpus  # noqa: E402
from uae_core.evaluation.compare import split_metrics, tune_hybrid, tuning_questions  # noqa: E402
from uae_core.evaluation.report import run_system  # noqa: E402
from uae_core.retrieval.encoder import cached_encode, load_student  # noqa: E402
from uae_core.retrieval.fusion import hybrid_system  # noqa: E402
from uae_core.retrieval.index import build_index  # noqa: E402
from uae_core.retrieval.systems import bm25_system, dense_system  # noqa: E402
from uae_core.training.merge import choose_merge, snapshot  # noqa: E402
from uae_core.training.trainer import TrainConfig, train_student  # noqa: E402
from uae_core.weights import DEFAULT_STUDENT, DEFAULT_TEACHER  # noqa: E402

WORKDIRS = {"qasper": "yes_no", "covidqa": "weight_merge_covidqa"}


def student(args, seed: int, domain, corpus, workdir: Path, cache: Path):
    """The main command's student on these labels: trained, then merged by the share dev prefers."""
    teacher_id = teacher_for(args, "score").teacher_id
    sets, examples = budget_examples(workdir, workdir / "labels.duckdb", corpus, args.budget, {"score": teacher_id})
    model = load_student(args.student)
    base = snapshot(model)
    config = TrainConfig(seed=seed)
    train_student(model, examples["score"], config, show_progress=False)
    choice = choose_merge(model, base, config.merge_shares,
                          lambda m: split_metrics(m, corpus.passages, corpus.queries, domain.scope, cache, "dev"))
    return model, [s.query_id for s in sets], choice.share


def rows_for(args, name: str, seed: int) -> list[dict]:
    domain = get_domain(name)
    corpus = load_corpus(domain.source_file(), domain.format)
    workdir = args.workdir or data_dir() / WORKDIRS.get(name, "yes_no")
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
    lines = ["# Which questions choose the hybrid's fusion (bench/fusion_tuning.py)", "",
             f"`{command}` on {platform.machine()} CPU, {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC. "
             "Each domain's student: the main command's settings (N x K `score` labels of "
             "bench/yes_no.py as the command says, 400 x 2 by default, merge share kept on dev). "
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
                    help="bench/yes_no.py's (default: data/yes_no, covidqa data/weight_merge_covidqa)")
    ap.add_argument("--budget", default="400:2", help="N:K of bench/yes_no.py's labels")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0], help="the student's training seeds")
    ap.add_argument("--student", default=DEFAULT_STUDENT)
    ap.add_argument("--teacher", default=DEFAULT_TEACHER)
    ap.add_argument("--out", type=Path, default=REPO / "docs" / "fusion_tuning.md")
    args = ap.parse_args(argv)
    rows = [r for name in (args.domain or ["qasper"]) for seed in args.seeds for r in rows_for(args, name, seed)]
    args.out.write_text(page(rows, "bench/fusion_tuning.py " + " ".join(argv if argv is not None else sys.argv[1:])))
    print(args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
