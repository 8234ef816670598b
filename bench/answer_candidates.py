"""Candidates found with the reference answers (the `answer` source) against the design's, side by side.

The teacher can only rank the candidates it is shown. The design's sources (BM25 and the base encoder asked the
question) miss the passage an answer came from for most qasper questions; BM25 asked the question *and its
reference answers* (which labeling reads anyway) finds it. This page measures both halves:

  1. how often gold evidence is among a train question's candidates, by sources and K (gold is read only to
     judge the sets; building them never sees it), with the pipeline's own build_candidate_sets;
  2. what students distilled from each set of labels score: two bench/results.py workdirs, --before (the
     design's sources) and --after (`--sources answer,bm25,dense --reuse-labels <before>/prepared`), the
     same settings and seeds, their hard-label rows (gold evidence) beside.

    .venv/bin/python bench/answer_candidates.py --before data/results/quick --after data/results/answer \\
        --before covidqa=data/results/covidqa_design               # -> docs/answer_candidates.md
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from uae_assets.domains import data_dir, get_domain  # noqa: E402
from uae_core.data import load_corpus  # noqa: E402
from uae_core.weights import DEFAULT_STUDENT  # noqa: E402

SOURCES = (("bm25", "dense"), ("answer",), ("answer", "bm25", "dense"), ("dense", "answer", "bm25"))
KS = (1, 2, 4, 8)


def recall_table(domain_name: str, student: str, cache: Path) -> dict:
    """Gold among the candidates of every train question, per sources and K."""
    from uae_core.labeling.candidates import CandidateSet, build_candidate_sets, gold_recall, select_train_queries
    from uae_core.retrieval.encoder import cached_encode, encode, load_student

    domain = get_domain(domain_name)
    corpus = load_corpus(domain.source_file(), domain.format)
    train = select_train_queries(corpus.queries, 0)
    base = load_student(student)
    embeddings = {"dense": (cached_encode(base, [p.text for p in corpus.passages], cache, show_progress=True),
                            encode(base, [q.question for q in train]))}
    table = {}
    for sources in SOURCES:
        deepest = build_candidate_sets(corpus.passages, train, max(KS), domain.scope, embeddings, sources)
        table[",".join(sources)] = {k: gold_recall([CandidateSet(s.query_id, s.passage_ids[:k]) for s in deepest],
                                                   train) for k in KS}
    return {"questions": len(train), "recall": table}


def _cells(records: list[dict], domain: str) -> str:
    out = []
    for split in ("test", "test_hybrid"):
        for metric in ("success@1", "map"):
            v = [r["scores"][domain][split]["mean"][metric] for r in records]
            out.append(f"{np.mean(v):.3f} ± {np.std(v):.3f}" if len(v) > 1 else f"{v[0]:.3f}")
    return " | ".join(out)


def _seeds(records: list[dict]) -> str:
    return ",".join(str(r["run"]["seed"]) for r in records) + f" ({records[0]['device']})"


def _records(workdir: Path, domain: str, system: str) -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted((workdir / "train" / domain).glob(f"{system}_seed-*.json"))]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--domains", default="qasper,covidqa")
    ap.add_argument("--before", action="append", required=True, metavar="[DOMAIN=]DIR",
                    help="results workdir labeled with the design's sources (DOMAIN=DIR for one domain)")
    ap.add_argument("--after", required=True, type=Path, help="results workdir labeled with the answer source")
    ap.add_argument("--student", default=DEFAULT_STUDENT)
    ap.add_argument("--out", type=Path, default=REPO / "docs" / "answer_candidates.md")
    args = ap.parse_args(argv)
    default_before = [Path(b) for b in args.before if "=" not in b]
    before = {d: Path(p) for d, p in (b.split("=", 1) for b in args.before if "=" in b)}
    cache = data_dir() / "cache" / "embeddings"
    lines = ["# Candidates found with the reference answers", "",
             f"Made by `bench/answer_candidates.py` ({datetime.now(timezone.utc):%Y-%m-%d}, {os.cpu_count()} cores, "
             f"{platform.machine()}). Sources: `answer` = BM25 asked the question plus its reference answers; "
             "`bm25` = BM25 asked the question; `dense` = the base encoder (MiniLM). Several sources are merged "
             "round-robin in the order given. Gold evidence is read only to judge the sets.", ""]
    for domain in args.domains.split(","):
        got = recall_table(domain, args.student, cache)
        lines += [f"## {domain}", "", f"Gold evidence among the candidates of its {got['questions']} train questions:",
                  "", "| sources | " + " | ".join(f"K = {k}" for k in KS) + " |", "|---" * (len(KS) + 1) + "|"]
        for sources, row in got["recall"].items():
            lines.append(f"| {sources} | " + " | ".join(f"{row[k]:.1%}" for k in KS) + " |")
        old_dir = before.get(domain, default_before[0] if default_before else None)
        if old_dir is None:
            lines.append("")
            continue
        lines += ["", "Labels and students (bench/results.py records; test split; mean ± population sd over "
                  "seeds; the device the trainings ran on beside the seeds):", "",
                  "| system | labels from | gold among candidates | teacher's top is gold, where gold is a candidate "
                  "| seeds | test R@1 | test MAP | hybrid R@1 | hybrid MAP |",
                  "|---|---|---|---|---|---|---|---|---|"]
        records = {(w, system): _records(w, domain, system) for w in (old_dir, args.after)
                   for system in ("uae", "hard_label")}
        after_seeds = {r["run"]["seed"] for r in records[args.after, "uae"]}
        for workdir in (old_dir, args.after):
            prepared = json.loads((workdir / "prepared" / f"{domain}.json").read_text())
            sources = ",".join(prepared.get("sources", ["bm25", "dense"]))
            uae_labels = f"{sources} | {prepared['gold_recall']:.1%} | {prepared['top1_is_gold']:.1%}"
            same = [r for r in records[workdir, "uae"] if r["run"]["seed"] in after_seeds]
            if workdir == old_dir and same and len(same) < len(records[workdir, "uae"]):
                # paired: the before run on the after run's seeds too
                lines.append(f"| UAE, the after run's seeds | {uae_labels} | {_seeds(same)} | {_cells(same, domain)} |")
            gold_labels = f"gold evidence; negatives from {sources} | 100% | -"
            for system, name, labels in (("uae", "UAE", uae_labels),
                                         ("hard_label", "hard-label (gold evidence)", gold_labels)):
                rows = records[workdir, system]
                if not rows or (system == "hard_label" and workdir == args.after
                                and rows == records[old_dir, system]):
                    continue  # the after run reuses the before run's hard-label records: shown once
                lines.append(f"| {name} | {labels} | {_seeds(rows)} | {_cells(rows, domain)} |")
        base = json.loads((old_dir / "train" / domain / "base.json").read_text())["test"]["mean"]
        bm25 = json.loads((old_dir / "train" / domain / "bm25.json").read_text())["test"]["mean"]
        lines += ["", f"Base encoder: test R@1 {base['success@1']:.3f}, MAP {base['map']:.3f}. BM25: "
                  f"{bm25['success@1']:.3f}, {bm25['map']:.3f}. Workdirs: before `{old_dir}`, after `{args.after}`.",
                  ""]
    args.out.write_text("\n".join(lines))
    print(f"[doc] {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
