"""How the hybrid's fusion is chosen, side by side: RRF or the convex score combination, with the dev argmax
or the one-standard-error rule (uae_core/retrieval/fusion.py), for each encoder on each domain. Every
choice is made on the domain's dev split by the pipeline's own `tune_hybrid` and scored on the test split,
next to BM25 and the encoder alone. Writes docs/fusion.md (a results table) and prints it.

    .venv/bin/python -m bench.fusion                       # the base encoder on every domain
    .venv/bin/python -m bench.fusion --encoder base --encoder data/models/registry/uae-encoder-qasper/1
"""

from __future__ import annotations

import argparse
import platform
import sys
from datetime import datetime, timezone
from pathlib import Path

from bench.results_page import fusion_text  # one wording of a fusion on both pages
from uae_assets.domains import data_dir, get_domain, load_domains
from uae_core.data import load_corpus
from uae_core.evaluation.compare import tune_hybrid
from uae_core.evaluation.report import run_system
from uae_core.retrieval.encoder import cached_encode, load_student
from uae_core.retrieval.fusion import fusion_grid, hybrid_system
from uae_core.retrieval.index import build_index
from uae_core.retrieval.systems import bm25_system, dense_system
from uae_core.weights import DEFAULT_STUDENT

REPO = Path(__file__).resolve().parent.parent

CHOICES = {  # name -> (grid, rule); the last is what the pipeline ships
    "RRF, dev argmax (before)": (fusion_grid(("rrf",), weights=(0.0, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 1.0)),
                                 "argmax"),
    "RRF, one-SE rule": (fusion_grid(("rrf",)), "one_se"),
    "convex, dev argmax": (fusion_grid(), "argmax"),
    "convex, one-SE rule (shipped)": (fusion_grid(), "one_se"),
}


def compare_fusions(domain_name: str, encoder: str) -> list[dict]:
    """One row per system: BM25, the encoder, and its hybrid under each fusion choice (test metrics)."""
    domain = get_domain(domain_name)
    corpus = load_corpus(domain.source_file(), domain.format)
    passages, scope = corpus.passages, domain.scope
    test = [q for q in corpus.queries if q.split == "test" and q.gold_passage_ids]
    model = load_student(DEFAULT_STUDENT if encoder == "base" else encoder)
    emb = cached_encode(model, [p.text for p in passages], data_dir() / "cache" / "embeddings")
    dense, bm25 = dense_system(model, build_index(emb)), bm25_system(passages)

    def row(system: str, ranker, fusion=None) -> dict:
        metrics = run_system(ranker, passages, test, scope, latency_queries=0).metrics
        return {"domain": domain_name, "encoder": encoder, "system": system, "fusion": fusion,
                "success@1": metrics["success@1"], "map": metrics["map"], "n_test": len(test)}

    rows = [row("BM25", bm25), row("encoder alone", dense)]
    for name, (grid, rule) in CHOICES.items():
        fusion, _ = tune_hybrid(dense, bm25, passages, corpus.queries, scope, grid, rule)
        rows.append(row(name, hybrid_system(dense, bm25, fusion), fusion))
    return rows


def page(rows: list[dict], command: str) -> str:
    lines = ["# Choosing the hybrid's fusion (bench.fusion)", "",
             f"`{command}` on {platform.machine()} ({platform.node() or 'this machine'}), "
             f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC. Each fusion is chosen on the domain's dev split "
             "by `tune_hybrid` (mean of Recall@1 and MAP per question) and scored on the held-out test split "
             "(corpus scope). Bold: the hybrid beats BM25 and the encoder alone on both metrics.", "",
             "| domain | encoder | system | fusion chosen on dev | test R@1 | test MAP |", "|---|---|---|---|---|---|"]
    for r in rows:
        base = {x["system"]: x for x in rows if x["domain"] == r["domain"] and x["encoder"] == r["encoder"]}
        beats = r["fusion"] is not None and all(r[m] > base[s][m] for s in ("BM25", "encoder alone")
                                                for m in ("success@1", "map"))
        fusion = "" if r["fusion"] is None else fusion_text(r["fusion"].as_dict())
        cell = (lambda v: f"**{v:.3f}**") if beats else (lambda v: f"{v:.3f}")
        encoder = "base" if r["encoder"] == "base" else Path(r["encoder"]).name
        lines.append(f"| {r['domain']} ({r['n_test']} q) | {encoder} | {r['system']} | {fusion} | "
                     f"{cell(r['success@1'])} | {cell(r['map'])} |")
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--domain", action="append", help="a domain of domains.yaml (default: all); repeatable")
    ap.add_argument("--encoder", action="append", help="'base' or a sentence-transformers folder; repeatable")
    ap.add_argument("--out", type=Path, default=REPO / "docs" / "fusion.md")
    args = ap.parse_args(argv)
    domains = args.domain or list(load_domains()[0])
    rows = [r for encoder in args.encoder or ["base"] for d in domains for r in compare_fusions(d, encoder)]
    text = page(rows, "python -m bench.fusion " + " ".join(argv if argv is not None else sys.argv[1:]))
    args.out.write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
