from pathlib import Path

import pytest

from tests.data.writers import write_jsonl
from uae_core.data import DataFormatError, Passage, load_corpus, split_for_document
from uae_core.data.beir import load_beir

CORPUS = [{"_id": "d1", "title": "Masks", "text": "Masks reduce spread."},
          {"_id": "d2", "title": "", "text": "Vaccines train the immune system."},
          {"_id": "d3", "title": "Only a title", "text": ""},
          {"_id": "d4", "title": "", "text": "  "},
          {"_id": "d5", "doc_id": "paper-9", "title": "T", "text": "Grouped passage.", "metadata": {}}]
QUERIES = [{"_id": f"q{i}", "text": f"Question {i}?", "metadata": {}} for i in range(1, 7)]
HEADER = "query-id\tcorpus-id\tscore"


def make_beir(root: Path, qrels: dict[str, list[str]], corpus=CORPUS, queries=QUERIES) -> Path:
    write_jsonl(root / "corpus.jsonl", corpus)
    write_jsonl(root / "queries.jsonl", queries)
    for split, lines in qrels.items():
        (root / "qrels").mkdir(parents=True, exist_ok=True)
        (root / "qrels" / f"{split}.tsv").write_text("\n".join([HEADER, *lines]) + "\n")
    return root


def test_passages_title_before_text_and_doc_id(tmp_path):
    corpus = load_beir(make_beir(tmp_path, {"test": ["q1\td1\t1"]}))
    assert corpus.passages == [Passage("d1", "d1", "Masks", "Masks Masks reduce spread."),
                               Passage("d2", "d2", "", "Vaccines train the immune system."),
                               Passage("d3", "d3", "Only a title", "Only a title"),
                               Passage("d5", "paper-9", "T", "T Grouped passage.")]
    assert corpus.report.skipped["empty_passages"] == 1
    assert all(q.answers == () and q.doc_id == "" for q in corpus.queries)  # BEIR has no reference answers


def test_train_dev_test_qrels_give_the_split(tmp_path):
    folder = make_beir(tmp_path, {
        "train": ["q1\td1\t1", "q1\td2\t2", "q4\td2\t1", "q5\td1\t1"],
        "dev": ["q2\td2\t1", "q2\td1\t0"],  # score 0: judged, not relevant
        "test": ["q3\td1\t1", "q3\tnope\t1", "q5\td2\t1", "ghost\td1\t1"],
    })
    (folder / "qrels" / "extra.tsv").write_text(HEADER + "\n")
    corpus = load_corpus(folder, "beir")
    q = {x.query_id: x for x in corpus.queries}
    assert {k: v.split for k, v in q.items()} == {"q1": "train", "q2": "dev", "q3": "test", "q4": "train",
                                                  "q5": "test",  # in train and test: test wins
                                                  "q6": split_for_document("q6")}  # in no qrels: by hash
    assert q["q1"].gold_passage_ids == ("d1", "d2") and q["q2"].gold_passage_ids == ("d2",)
    assert q["q3"].gold_passage_ids == ("d1",) and q["q6"].gold_passage_ids == ()
    assert q["q5"].gold_passage_ids == ("d1", "d2")
    assert corpus.report.skipped == {"empty_passages": 1, "evidence_unmatched": 1, "qrels_not_relevant": 1,
                                     "qrels_split_conflicts": 1, "qrels_unknown_queries": 1,
                                     "qrels_files_ignored": 1}
    assert corpus.report.queries == 6 and corpus.report.queries_with_gold == 5


def test_test_only_qrels_split_every_question_by_hash(tmp_path):
    queries = [{"_id": f"q{i}", "text": f"Question {i}?"} for i in range(60)]
    corpus = load_beir(make_beir(tmp_path, {"test": [f"q{i}\td{1 + i % 2}\t1" for i in range(60)]},
                                 queries=queries))
    assert [q.split for q in corpus.queries] == [split_for_document(f"q{i}") for i in range(60)]
    assert {q.split for q in corpus.queries} == {"train", "dev", "test"}
    assert all(q.gold_passage_ids for q in corpus.queries)


def test_train_without_dev_takes_dev_from_train_by_hash(tmp_path):
    queries = [{"_id": f"q{i}", "text": f"Question {i}?"} for i in range(120)]
    corpus = load_beir(make_beir(tmp_path, {"train": [f"q{i}\td1\t1" for i in range(100)],
                                            "test": [f"q{i}\td2\t1" for i in range(100, 120)]}, queries=queries))
    splits = {q.query_id: q.split for q in corpus.queries}
    for i in range(100):
        assert splits[f"q{i}"] == ("dev" if split_for_document(f"q{i}") == "dev" else "train")
    assert 3 < list(splits.values()).count("dev") < 20  # about dev_fraction of the train questions
    assert all(splits[f"q{i}"] == "test" for i in range(100, 120))


def test_no_qrels_folder_keeps_questions_without_gold(tmp_path):
    corpus = load_beir(make_beir(tmp_path, {}))
    assert len(corpus.queries) == 6 and corpus.report.queries_with_gold == 0


@pytest.mark.parametrize("line, field, fragment", [
    ("q1\td1", "score", "expected 3 tab-separated columns (query-id, corpus-id, score), got 2"),
    ("q1 d1 1", "corpus-id", "got 1"),
    ("q1\td1\thigh", "score", "expected a number, got 'high'"),
    ("q1\t\t1", "corpus-id", "empty"),
])
def test_bad_qrels_lines_name_file_line_and_column(tmp_path, line, field, fragment):
    folder = make_beir(tmp_path, {"test": ["q2\td2\t1", line]})
    with pytest.raises(DataFormatError) as err:
        load_beir(folder)
    path = folder / "qrels" / "test.tsv"
    assert (err.value.path, err.value.record, err.value.field_name) == (str(path), "3", field)
    assert str(path) in str(err.value) and "line '3'" in str(err.value) and fragment in str(err.value)


@pytest.mark.parametrize("corpus, queries, file, line, field, fragment", [
    (CORPUS + [{"_id": "d1", "text": "again"}], QUERIES, "corpus.jsonl", "6", "_id",
     "duplicate passage id 'd1' (first on line 1)"),
    (CORPUS, QUERIES + [{"_id": "q1", "text": "again"}], "queries.jsonl", "7", "_id",
     "duplicate question id 'q1' (first on line 1)"),
    ([{"_id": "d1", "title": "no text"}], QUERIES, "corpus.jsonl", "1", "text", "missing"),
    (CORPUS, [{"text": "no id"}], "queries.jsonl", "1", "_id", "missing"),
])
def test_bad_records_name_file_line_and_field(tmp_path, corpus, queries, file, line, field, fragment):
    folder = make_beir(tmp_path, {}, corpus=corpus, queries=queries)
    with pytest.raises(DataFormatError) as err:
        load_beir(folder)
    assert (err.value.path, err.value.record, err.value.field_name) == (str(folder / file), line, field)
    assert fragment in str(err.value)


def test_missing_queries_file_is_named(tmp_path):
    write_jsonl(tmp_path / "corpus.jsonl", CORPUS)
    with pytest.raises(DataFormatError, match=r"no queries\.jsonl"):
        load_beir(tmp_path)
