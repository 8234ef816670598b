import pytest

from tests.data.writers import write_parquet
from uae_core.data import DataFormatError, LoadOptions, Passage, Query, load_corpus, split_for_document
from uae_core.data.tables import load_jsonl, load_parquet

PASSAGES = [
    {"id": "a1", "doc_id": "doc-a", "title": "Intro", "text": " Attention mixes tokens. "},
    {"id": "a2", "doc_id": "doc-a", "section": "Method", "text": "We train with a KL loss."},
    {"id": 7, "text": "A passage with a numeric id and no document."},
    {"id": "empty", "doc_id": "doc-a", "text": "   "},
]
QUESTIONS = [
    {"id": "q1", "question": "What mixes tokens?", "answers": ["attention", " "], "gold_ids": ["a1", "zzz"],
     "doc_id": "doc-a"},
    {"id": "q2", "text": "Which loss?", "answers": "KL", "gold_passage_ids": ["a2", "a2"], "split": "test"},
    {"id": "q3", "question": "No answer, no gold?"},
    {"id": "q4", "question": "Gold by numeric id?", "gold_ids": [7], "answers": None, "split": ""},
    {"id": "q5", "question": "  "},
]


def test_jsonl_round_trip(jsonl_folder):
    corpus = load_corpus(jsonl_folder(PASSAGES, QUESTIONS), "jsonl")
    assert corpus.passages == [Passage("a1", "doc-a", "Intro", "Attention mixes tokens."),
                               Passage("a2", "doc-a", "Method", "We train with a KL loss."),
                               Passage("7", "7", "", "A passage with a numeric id and no document.")]
    q = {x.query_id: x for x in corpus.queries}
    assert q["q1"] == Query("q1", "doc-a", "What mixes tokens?", ("attention",), ("",), ("a1",),
                            split_for_document("doc-a"))
    assert q["q2"] == Query("q2", "", "Which loss?", ("KL",), ("",), ("a2",), "test")  # explicit split wins
    # kept without answers and without gold; split by the hash of the question id
    assert q["q3"] == Query("q3", "", "No answer, no gold?", (), (), (), split_for_document("q3"))
    assert q["q4"].gold_passage_ids == ("7",) and q["q4"].answers == () and q["q4"].split == split_for_document("q4")
    assert set(q) == {"q1", "q2", "q3", "q4"}
    report = corpus.report.as_dict()
    assert report == {"documents": 2, "passages": 3, "queries": 4, "queries_with_gold": 3, "queries_with_answers": 2,
                      "skipped_empty_answers": 1, "skipped_empty_passages": 1, "skipped_empty_questions": 1,
                      "skipped_evidence_unmatched": 1}


def test_passages_only_and_truncation(jsonl_folder):
    corpus = load_jsonl(jsonl_folder([{"id": "p", "text": "word " * 50}]), LoadOptions(max_passage_chars=20))
    assert corpus.queries == [] and len(corpus.passages[0].text) == 20
    assert corpus.report.skipped == {"passages_truncated": 1}


def test_parquet_equals_jsonl(tmp_path, jsonl_folder):
    passages = [{"id": "a1", "doc_id": "doc-a", "title": "Intro", "text": "Attention mixes tokens."},
                {"id": "a2", "doc_id": None, "title": None, "text": "We train with a KL loss."}]
    questions = [{"id": "q1", "question": "What mixes tokens?", "answers": ["attention"], "gold_ids": ["a1", "x"],
                  "doc_id": "doc-a", "split": None},
                 {"id": "q2", "question": "Which loss?", "answers": None, "gold_ids": None, "doc_id": None,
                  "split": "dev"},
                 {"id": "q3", "question": "Nothing else?", "answers": [], "gold_ids": [], "doc_id": None,
                  "split": None}]
    folder = tmp_path / "pq"
    write_parquet(folder / "passages.parquet", passages)
    write_parquet(folder / "questions.parquet", questions)
    from_parquet = load_corpus(folder, "parquet")
    from_jsonl = load_corpus(jsonl_folder(passages, questions), "jsonl")
    assert from_parquet.passages == from_jsonl.passages and from_parquet.queries == from_jsonl.queries
    assert from_parquet.report == from_jsonl.report
    assert [q.split for q in from_parquet.queries][1] == "dev"


PASSAGE = {"id": "p1", "text": "t"}


@pytest.mark.parametrize("passages, questions, line, field, fragment", [
    ([PASSAGE, '{"id": "p2", "text": '], None, "2", None, "not valid JSON"),
    ([PASSAGE, "[1, 2]"], None, "2", None, "expected a JSON object"),
    ([PASSAGE, {"text": "no id"}], None, "2", "id", "missing"),
    ([PASSAGE, {"id": "p2"}], None, "2", "text", "missing"),
    ([PASSAGE, {"id": "p2", "text": 5}], None, "2", "text", "expected a string, got int"),
    ([PASSAGE, {"id": ["p2"], "text": "t"}], None, "2", "id", "expected a string (or integer) id, got list"),
    ([PASSAGE, {"id": "p2", "text": "t", "doc_id": 1.5}], None, "2", "doc_id", "got float"),
    ([PASSAGE, {"id": "p1", "text": "again"}], None, "2", "id", "duplicate passage id 'p1' (first on line 1)"),
    ([PASSAGE], [{"id": "q", "question": "Q?"}, {"id": "q", "question": "Again?"}], "2", "id",
     "duplicate question id 'q' (first on line 1)"),
    ([PASSAGE], [{"id": "q", "question": "Q?", "split": "validation"}], "1", "split",
     "expected one of train|dev|test, got 'validation'"),
    ([PASSAGE], [{"id": "q", "question": "Q?", "answers": 5}], "1", "answers", "expected a list, got int"),
    ([PASSAGE], [{"id": "q", "question": "Q?", "gold_ids": ["p1", 2.0]}], "1", "gold_ids[1]", "got float"),
    ([PASSAGE], [{"id": "q"}], "1", "question", "missing"),
])
def test_errors_name_file_line_and_field(jsonl_folder, passages, questions, line, field, fragment):
    folder = jsonl_folder(passages, questions)
    bad = folder / ("questions.jsonl" if questions else "passages.jsonl")
    with pytest.raises(DataFormatError) as err:
        load_corpus(folder, "jsonl")
    assert (err.value.path, err.value.record, err.value.field_name) == (str(bad), line, field)
    message = str(err.value)
    assert str(bad) in message and f"line '{line}'" in message and fragment in message
    if field:
        assert f"field '{field}'" in message


def test_parquet_errors_name_the_row(tmp_path):
    write_parquet(tmp_path / "passages.parquet", [{"id": "a", "text": "x"}, {"id": "b", "text": None}])
    with pytest.raises(DataFormatError) as err:
        load_parquet(tmp_path)
    assert (err.value.record, err.value.field_name) == ("1", "text") and "row '1'" in str(err.value)
    (tmp_path / "passages.parquet").write_text("not parquet")
    with pytest.raises(DataFormatError, match="not a readable Parquet file"):
        load_parquet(tmp_path)


def test_layout_errors(tmp_path, jsonl_folder):
    with pytest.raises(DataFormatError, match=r"no passages\.jsonl"):
        load_jsonl(tmp_path)
    with pytest.raises(DataFormatError, match="expected a folder"):
        load_jsonl(jsonl_folder([PASSAGE]) / "passages.jsonl")
    with pytest.raises(DataFormatError, match="no passage with text"):
        load_jsonl(jsonl_folder([{"id": "p", "text": ""}], name="empty"))
