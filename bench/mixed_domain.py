"""A 6k-passage domain built from the real data in ../shared, for timing a run at that size: qasper's pool
(3,027 paragraphs) and covidqa (3,347) in one `jsonl` folder, every question kept with its split, answers and
gold (ids prefixed by their source, so nothing collides). It is a corpus a user could bring: the run
searches both sources at once.

    .venv/bin/python -m bench.mixed_domain                       # writes data/raw/mixed and its domains file
    UAE_DOMAINS=data/raw/mixed/domains.yaml .venv/bin/uae materialize --domain mixed
    .venv/bin/python -m bench.spine_run --domain mixed --out docs/spine_run_mixed.md   # its stage table
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from uae_assets.domains import data_dir, get_domain
from uae_core.data import load_corpus

SOURCES = ("qasper", "covidqa")


def records(name: str) -> tuple[list[dict], list[dict]]:
    domain = get_domain(name)
    corpus = load_corpus(domain.source_file(), domain.format)
    passages = [{"id": f"{name}/{p.passage_id}", "doc_id": f"{name}/{p.doc_id}", "section": p.section,
                 "text": p.text} for p in corpus.passages]
    questions = [{"id": f"{name}/{q.query_id}", "question": q.question, "answers": list(q.answers),
                  "gold_ids": [f"{name}/{g}" for g in q.gold_passage_ids], "doc_id": f"{name}/{q.doc_id}",
                  "split": q.split} for q in corpus.queries]
    return passages, questions


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=data_dir() / "raw" / "mixed")
    args = ap.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    passages, questions = [], []
    for name in SOURCES:
        p, q = records(name)
        passages += p
        questions += q
    for file, rows in (("passages.jsonl", passages), ("questions.jsonl", questions)):
        (args.out / file).write_text("".join(json.dumps(r) + "\n" for r in rows))
    (args.out / "domains.yaml").write_text(f"default: mixed\ndomains:\n  mixed:\n    path: {args.out.resolve()}\n"
                                           "    format: jsonl\n    scope: corpus\n")
    splits = {s: sum(q["split"] == s for q in questions) for s in ("train", "dev", "test")}
    print(f"{args.out}: {len(passages)} passages, {len(questions)} questions {splits}; "
          f"UAE_DOMAINS={args.out / 'domains.yaml'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
