"""Labels for questions without reference answers, measured against labels from real answers.

QASPER's train questions with their answers hidden are labeled by question likelihood (the teacher's
log p(question | passage) - log p(question), TeacherConfig.without_answers) on the same candidates as the
answer-based labels; this compares the two per question (rank correlation, same most useful passage, how
often each puts gold first) and, with --train, the students distilled from each, on the dev split.

    .venv/bin/python -m bench.answerless --questions 200            # -> docs/answerless.md

Both kinds of label go through the pipeline's steps (uae_core.pipeline): candidates from build_sticky, labels
from label_pairs (the answer labels into the pipeline's store, shared with `uae materialize`; the
question-likelihood labels into a temporary one), students from train_and_merge.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
import tempfile
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from uae_assets.domains import data_dir, get_domain
from uae_core.data import load_corpus

REPO = Path(__file__).resolve().parent.parent


def ranks(values: list[float]) -> np.ndarray:
    return np.argsort(np.argsort(values)).astype(float)


def spearman(a: list[float], b: list[float]) -> float | None:
    ra, rb = ranks(a), ranks(b)
    return None if ra.std() == 0 or rb.std() == 0 else float(np.corrcoef(ra, rb)[0, 1])


def main(argv=None) -> int:
    from uae_core.labeling.candidates import CandidateConfig
    from uae_core.labeling.shards import chunks_beside
    from uae_core.labeling.teacher import load_teacher
    from uae_core.pipeline import build_sticky, label_pairs
    from uae_core.retrieval.encoder import load_student
    from uae_core.weights import DEFAULT_STUDENT

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--domain", default="qasper")
    ap.add_argument("--questions", type=int, default=200)
    ap.add_argument("--k", type=int, default=4)
    ap.add_argument("--train", action="store_true", help="also distill a student from each kind of label")
    ap.add_argument("--out", type=Path, default=REPO / "docs" / "answerless.md")
    args = ap.parse_args(argv)
    domain = get_domain(args.domain)
    corpus = load_corpus(domain.source_file(), domain.format)
    config = CandidateConfig(k=args.k, max_train_queries=args.questions)  # BM25 + the base encoder
    sets = build_sticky(corpus.passages, corpus.queries, config, domain.scope, load_student(DEFAULT_STUDENT),
                        data_dir() / "answerless" / f"candidates-{args.domain}.json",
                        data_dir() / "cache" / "embeddings").sets
    passages = {p.passage_id: p for p in corpus.passages}
    with_answers = {q.query_id: q for q in corpus.queries}
    hidden = {q: dataclasses.replace(x, answers=(), extractive_answers=()) for q, x in with_answers.items()}
    teacher = load_teacher(cache_dir=data_dir() / "models")
    results = {}
    store = data_dir() / "labels.duckdb"  # the answer labels: shared with the pipeline
    answer_labels, stats = label_pairs(teacher, store, chunks_beside(store), sets, with_answers, passages,
                                       show_progress=True)
    answer_u = answer_labels.utilities
    with tempfile.TemporaryDirectory() as tmp:
        hidden_labels, hidden_stats = label_pairs(teacher, Path(tmp) / "hidden.duckdb", Path(tmp) / "chunks", sets,
                                                  hidden, passages, show_progress=True)
        question_u = hidden_labels.utilities
    rhos, same_top, gold_top = [], [], {"answers": [], "question likelihood": []}
    for s in sets:
        a = [answer_u[s.query_id][p] for p in s.passage_ids]
        b = [question_u[s.query_id][p] for p in s.passage_ids]
        rho = spearman(a, b)
        if rho is not None:
            rhos.append(rho)
        same_top.append(int(np.argmax(a) == np.argmax(b)))
        gold = set(with_answers[s.query_id].gold_passage_ids)
        if gold & set(s.passage_ids):
            gold_top["answers"].append(s.passage_ids[int(np.argmax(a))] in gold)
            gold_top["question likelihood"].append(s.passage_ids[int(np.argmax(b))] in gold)
    results["agreement"] = {"questions": len(sets), "median_spearman": statistics.median(rhos),
                            "same_most_useful": float(np.mean(same_top)),
                            "gold_first": {k: float(np.mean(v)) for k, v in gold_top.items()},
                            "questions_with_gold_candidate": len(gold_top["answers"]),
                            "pairs_per_second": {"answers": stats.pairs_per_second,
                                                 "question likelihood": hidden_stats.pairs_per_second}}
    if args.train:
        results["students"] = students(corpus, domain, sets, {"answers": answer_u, "question likelihood": question_u},
                                       with_answers, passages)
    write(results, args)
    return 0


def students(corpus, domain, sets, labels: dict, queries: dict, passages: dict) -> dict:
    """The dev metrics of a student distilled from each kind of label with the pipeline's training step
    (train_and_merge: the merge share kept on dev, as uae_encoder) and bench.results' final settings."""
    from bench.results import FINAL
    from uae_core.evaluation.compare import dev_metrics
    from uae_core.pipeline import train_and_merge
    from uae_core.retrieval.encoder import load_student
    from uae_core.training.examples import build_examples
    from uae_core.training.trainer import TrainConfig
    from uae_core.weights import DEFAULT_STUDENT

    cache = data_dir() / "cache" / "embeddings"

    def dev(model) -> dict[str, float]:
        return dev_metrics(model, corpus.passages, corpus.queries, domain.scope, cache)

    out = {"base": dev(load_student(DEFAULT_STUDENT))}
    for name, utilities in labels.items():
        model = load_student(DEFAULT_STUDENT)
        _, merge = train_and_merge(model, build_examples(sets, utilities, queries, passages), TrainConfig(**FINAL),
                                   dev)
        out[name] = merge.dev_metrics
    return out


def write(results: dict, args) -> None:
    a = results["agreement"]
    lines = ["# Labels for questions without answers", "",
             f"`.venv/bin/python -m bench.answerless --questions {args.questions} --k {args.k}"
             f"{' --train' if args.train else ''}`, {datetime.now(timezone.utc):%Y-%m-%d}, domain `{args.domain}`: "
             f"{a['questions']} train questions, {args.k} candidates each (BM25 + base encoder), labeled by the "
             "packaged SmolLM2 teacher twice: from the reference answers (ll(answer | question, passage) - "
             "ll(answer | question)) and with the answers hidden, by question likelihood (ll(question | passage) "
             "- ll(question), `without_answers: question_likelihood`).", "",
             "| measure | value |", "|---|---|",
             f"| median Spearman between the two over a question's candidates | {a['median_spearman']:.2f} |",
             f"| same most useful candidate | {a['same_most_useful']:.1%} |",
             f"| most useful candidate is gold, answer labels ({a['questions_with_gold_candidate']} questions with "
             f"a gold candidate) | {a['gold_first']['answers']:.1%} |",
             f"| most useful candidate is gold, question-likelihood labels | "
             f"{a['gold_first']['question likelihood']:.1%} |",
             f"| labeling speed, pairs/s (answers / questions) | {a['pairs_per_second']['answers']:.2f} / "
             f"{a['pairs_per_second']['question likelihood']:.2f} |", ""]
    if "students" in results:
        lines += ["Students distilled from each kind of label (same questions, candidates and settings), dev split:",
                  "", "| labels | dev success@1 | dev MAP |", "|---|---|---|"]
        lines += [f"| {name} | {m['success@1']:.3f} | {m['map']:.3f} |" for name, m in results["students"].items()]
        lines.append("")
    args.out.write_text("\n".join(lines))
    (args.out.with_suffix(".json")).write_text(json.dumps(results, indent=1))
    print(args.out.read_text())


if __name__ == "__main__":
    raise SystemExit(main())
