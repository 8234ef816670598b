"""A BEIR-layout domain and a JSONL domain whose questions have no reference answers, each through the whole
graph with `uae materialize` (tiny random models): labels in DuckDB for every candidate, a registered
model, a retriever and a report. The answerless questions are labeled by question likelihood."""

from __future__ import annotations

import json

import duckdb
import pytest

from tests.data.writers import write_jsonl
from tests.reliability.world import World, make_world
from uae_core.data import load_corpus

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def world(tmp_path_factory, tiny_student_dir, tiny_teacher_dir) -> World:
    root = tmp_path_factory.mktemp("formats")
    world = make_world(root, tiny_student_dir, tiny_teacher_dir)
    corpus = load_corpus(root / "good.json", "qasper")  # the same synthetic papers in two other layouts,
    # their ids prefixed so that no label of one domain is reused by another
    beir, tables = root / "beir", root / "tables"
    write_jsonl(beir / "corpus.jsonl", [{"_id": "b" + p.passage_id, "doc_id": p.doc_id, "title": "", "text": p.text}
                                        for p in corpus.passages])
    write_jsonl(beir / "queries.jsonl", [{"_id": "b" + q.query_id, "text": q.question} for q in corpus.queries])
    (beir / "qrels").mkdir()
    for split in ("train", "dev", "test"):
        lines = [f"b{q.query_id}\tb{g}\t1" for q in corpus.queries if q.split == split for g in q.gold_passage_ids]
        (beir / "qrels" / f"{split}.tsv").write_text("\n".join(["query-id\tcorpus-id\tscore", *lines]) + "\n")
    write_jsonl(tables / "passages.jsonl", [{"id": "t" + p.passage_id, "doc_id": p.doc_id, "text": p.text}
                                            for p in corpus.passages])
    write_jsonl(tables / "questions.jsonl", [{"id": "t" + q.query_id, "question": q.question, "doc_id": q.doc_id,
                                              "gold_ids": ["t" + g for g in q.gold_passage_ids]}
                                             for q in corpus.queries])
    world.write("domains.yaml", json.dumps({"default": "good", "domains": {
        "good": {"path": str(root / "good.json")},
        "beirdomain": {"path": str(beir), "format": "beir"},
        "answerless": {"path": str(tables), "format": "jsonl"}}}))
    return world


def _labels(world: World, query_ids: set[str]) -> list[tuple[str, str, float]]:
    con = duckdb.connect(str(world.root / "data" / "labels.duckdb"), read_only=True)
    rows = con.execute("SELECT query_id, passage_id, utility FROM utility_labels").fetchall()
    con.close()
    return [r for r in rows if r[0] in query_ids]


@pytest.mark.parametrize("domain, fmt", [("beirdomain", "beir"), ("answerless", "jsonl")])
def test_a_domain_of_another_format_runs_end_to_end(world, domain, fmt):
    result = world.uae("materialize", "--domain", domain, "--config", str(world.run_config()), timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    report_path = world.root / "data" / "reports" / domain / "eval_report.json"
    assert str(report_path.with_suffix(".md")) in result.stdout
    report = json.loads(report_path.read_text())
    assert report["n_queries"] > 0 and {"bm25", "base", "uae", "hybrid"} <= set(report["systems"])
    corpus = load_corpus(world.root / ("beir" if fmt == "beir" else "tables"), fmt)
    assert all(not q.answers for q in corpus.queries)  # neither layout carries reference answers here
    train = {q.query_id for q in corpus.queries if q.split == "train"}
    labels = _labels(world, train)
    assert {q for q, _, _ in labels} == train  # every train question labeled, by question likelihood
    assert all(u == u and abs(u) < 1e6 for _, _, u in labels) and len({u for _, _, u in labels}) > 1
    assert list((world.root / "data" / "indexes" / domain).glob("v1/index.faiss"))
