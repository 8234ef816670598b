"""What a hybrid gives untuned, at each scope the product serves: BM25, the base encoder, and their fusion by
convex w 0.5 and by equal-weight RRF (k 60), with no question used to choose anything. This is what decides
fusion.UNTUNED, the hybrid of a domain with fewer than fusion.MIN_TUNING_QUESTIONS tuning questions.

    .venv/bin/python -m bench.fusion_scopes          # -> docs/fusion_scopes.md (~10 min on this CPU)

Rows: qasper-train-full at paper scope (every question with gold: the paper is the search space), and the
test splits of qasper-train-pool and covidqa at corpus scope. The systems are the pipeline's own
(bm25_system, dense_system over cached_encode, hybrid_system), scored by run_system.
"""

from __future__ import annotations

import argparse
import platform
from datetime import datetime, timezone
from pathlib import Path

from uae_assets.domains import data_dir
from uae_core.data import load_corpus
from uae_core.evaluation.report import run_system
from uae_core.retrieval.encoder import cached_encode, load_student
from uae_core.retrieval.fusion import Fusion, hybrid_system
from uae_core.retrieval.index import build_index
from uae_core.retrieval.systems import bm25_system, dense_system
from uae_core.weights import DEFAULT_STUDENT

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared" / "data"
SETS = [("qasper-train-full, paper scope, all questions", SHARED / "qasper" / "qasper-train-full.json", "paper", "all"),
        ("qasper-train-pool, corpus scope, test", SHARED / "qasper" / "qasper-train-pool.json", "corpus", "test"),
        ("covidqa, corpus scope, test", SHARED / "covidqa" / "covidqa-dev.json", "corpus", "test")]
FUSIONS = {"convex w 0.5": Fusion("convex", 0.5), "RRF w 0.5, k 60": Fusion("rrf", 0.5, 60)}


def rows(student: str) -> list[str]:
    base = load_student(student)
    lines = []
    for label, path, scope, split in SETS:
        corpus = load_corpus(path)
        queries = [q for q in corpus.queries if (split == "all" or q.split == split) and q.gold_passage_ids]
        passages = corpus.passages
        dense = dense_system(base, build_index(cached_encode(base, [p.text for p in passages],
                                                             data_dir() / "cache" / "embeddings")))
        bm25 = bm25_system(passages)
        systems = {"BM25": bm25, "base MiniLM": dense,
                   **{name: hybrid_system(dense, bm25, f) for name, f in FUSIONS.items()}}
        scores = {name: run_system(s, passages, queries, scope, latency_queries=0).metrics
                  for name, s in systems.items()}
        better = max(scores["BM25"]["success@1"], scores["base MiniLM"]["success@1"])
        for name, m in scores.items():
            gap = f"{m['success@1'] - better:+.3f}" if name in FUSIONS else ""
            lines.append(f"| {label} ({len(queries)} q) | {name} | {m['success@1']:.3f} | {m['map']:.3f} | {gap} |")
        print("\n".join(lines[-len(scores):]), flush=True)
    return lines


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--student", default=DEFAULT_STUDENT)
    ap.add_argument("--out", type=Path, default=REPO / "docs" / "fusion_scopes.md")
    args = ap.parse_args(argv)
    lines = ["# Untuned hybrids at each scope (fusion.UNTUNED)", "",
             f"Made by `.venv/bin/python -m bench.fusion_scopes` ({datetime.now(timezone.utc):%Y-%m-%d}, "
             f"{platform.machine()} CPU, 2 cores), the base MiniLM (no training, no teacher): what a domain's hybrid "
             "is when it has too few tuning questions to choose a weight on.", "",
             "| questions | system | R@1 | MAP | R@1 vs the better part |", "|---|---|---|---|---|",
             *rows(args.student)]
    args.out.write_text("\n".join(lines) + "\n")
    print(args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
