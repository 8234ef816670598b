"""bench/generated_questions.py end to end on a synthetic domain with tiny random models, in-process: the
teacher writes questions for train-document passages only (resumable: a second run writes nothing), the
teacher labels them by question likelihood in a real DuckDB store, students train on every variant, and the
page renders from the records."""

import json

import duckdb

from tests.helpers import load_bench, synthetic_qasper


def test_generated_questions_bench_generates_labels_trains_and_renders(tmp_path, monkeypatch, tiny_student_dir,
                                                                      tiny_teacher_dir):
    (tmp_path / "d.json").write_text(json.dumps(synthetic_qasper(16)))
    (tmp_path / "domains.yaml").write_text(f"default: d\ndomains:\n  d:\n    path: {tmp_path / 'd.json'}\n")
    monkeypatch.setenv("UAE_DOMAINS", str(tmp_path / "domains.yaml"))
    monkeypatch.setenv("UAE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    models = ["--domain", "d", "--student", str(tiny_student_dir), "--teacher", str(tiny_teacher_dir)]
    yes_no, bench = load_bench("yes_no"), load_bench("generated_questions")
    assert yes_no.main(["--stage", "label", "--questions", "6", "--k", "2", *models]) == 0  # the real labels
    work = tmp_path / "data" / "generated_questions"

    assert bench.main(["--stage", "gen", "--passages", "10", *models]) == 0
    written = [json.loads(line) for line in (work / "gen.jsonl").read_text().splitlines()]
    from uae_core.data import load_corpus

    corpus = load_corpus(tmp_path / "d.json")
    train_docs = {q.doc_id for q in corpus.queries if q.split == "train"}
    doc_of = {p.passage_id: p.doc_id for p in corpus.passages}
    assert len(written) == 10 and len({r["passage_id"] for r in written}) == 10
    assert all(doc_of[r["passage_id"]] in train_docs for r in written)  # no dev or test document is read
    usable = [r for r in written if r["question"]]
    assert usable, written
    assert bench.main(["--stage", "gen", "--passages", "10", *models]) == 0  # resumed: nothing left to write
    assert len((work / "gen.jsonl").read_text().splitlines()) == 10

    assert bench.main(["--stage", "train", "--budget", "6:2", "--generated", "10", "--labels-for-generated",
                       "teacher", *models]) == 0
    with duckdb.connect(str(work / "labels.duckdb"), read_only=True) as con:
        labeled = con.execute("SELECT count(DISTINCT query_id), count(*) FROM utility_labels "
                              "WHERE query_id LIKE 'gen::%'").fetchone()
    assert labeled == (len(usable), 2 * len(usable))  # source passage + BM25's best other passage
    runs = {r["variant"]: r for r in map(json.loads, (work / "train.jsonl").read_text().splitlines())}
    assert set(runs) == {"uae", "uae+gen", "gen"}
    assert runs["uae"]["generated"] == 0 and runs["gen"]["real"] == 0
    assert runs["uae+gen"]["real"] == runs["uae"]["real"] > 0 and runs["uae+gen"]["generated"] == len(usable)
    assert all(0 <= r[s]["map"] <= 1 for r in runs.values() for s in ("dev", "test"))

    assert bench.main(["--stage", "doc", "--out", str(tmp_path / "page.md"), *models]) == 0
    page = (tmp_path / "page.md").read_text()
    assert f"| uae+gen | 6:2 | {runs['uae']['real']} | {len(usable)} | teacher | 0 |" in page
    assert "Means over seeds" in page and f"- {usable[0]['question']}" in page
