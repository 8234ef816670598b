import json

import pytest

from tests.helpers import SHARED_DATA, answer, make_paper, make_qa, needs_shared_data
from uae_core.data import DataFormatError, LoadOptions, split_for_document
from uae_core.data.qasper import load_qasper

P1 = "Transformers use attention to mix token information."
P2 = "We evaluate on QASPER with Recall@1."


def test_passages_queries_and_skip_counts(write_json):
    paper = make_paper(
        [P1, "", "   ", P2, P1],  # two empty, one duplicate
        [make_qa("q1", "What do transformers use?", answer(free_form="attention", evidence=[P1, "not a paragraph"])),
         make_qa("q2", "Which metric?", answer(spans=["Recall@1", "R@1"], evidence=["FLOAT SELECTED: Table 1"])),
         make_qa("q3", "Is it good?", answer(yes_no=False, evidence=[P2])),
         make_qa("q4", "Unknowable?", answer(unanswerable=True)),
         make_qa("q5", "", answer(free_form="x"))])
    corpus = load_qasper(write_json({"paper-a": paper, "paper-b": {"title": "no text", "full_text": [], "qas": []}}))
    assert [p.passage_id for p in corpus.passages] == ["paper-a::0::0", "paper-a::0::3"]
    by_id = {q.query_id: q for q in corpus.queries}
    assert set(by_id) == {"q1", "q2", "q3"}
    assert by_id["q1"].answers == ("attention",) and by_id["q1"].gold_passage_ids == ("paper-a::0::0",)
    assert by_id["q2"].answers == ("Recall@1, R@1",) and by_id["q2"].gold_passage_ids == ()
    assert by_id["q3"].answers == ("No",) and by_id["q3"].gold_passage_ids == ("paper-a::0::3",)
    skipped = corpus.report.skipped
    assert skipped["empty_paragraphs"] == 2 and skipped["duplicate_paragraphs"] == 1
    assert skipped["evidence_unmatched"] == 1 and skipped["evidence_float_selected"] == 1
    assert skipped["questions_without_usable_answer"] == 1 and skipped["empty_questions"] == 1
    assert skipped["papers_without_full_text"] == 1
    assert corpus.report.as_dict()["queries_with_gold"] == 2


def test_huge_paragraph_is_truncated_and_counted(write_json):
    huge = "word " * 10_000
    paper = make_paper([huge], [make_qa("q", "Q?", answer(free_form="a", evidence=[huge]))])
    corpus = load_qasper(write_json({"p": paper}), LoadOptions(max_passage_chars=1000))
    assert len(corpus.passages[0].text) == 1000
    assert corpus.report.skipped["paragraphs_truncated"] == 1
    assert corpus.queries[0].gold_passage_ids == ("p::0::0",)  # evidence still matches the full paragraph


def test_several_annotators_give_several_answers_and_union_of_evidence(write_json):
    paper = make_paper([P1, P2], [make_qa("q", "Q?", [answer(free_form="one", evidence=[P1]),
                                                      answer(spans=["two"], evidence=[P2, P1])])])
    q = load_qasper(write_json({"p": paper})).queries[0]
    assert q.answers == ("one", "two") and q.extractive_answers == ("", "two")
    assert q.gold_passage_ids == ("p::0::0", "p::0::1")


@pytest.mark.parametrize("content, fragment", [
    ("{not json", "not valid JSON"),
    ("[1, 2]", "top level must be an object"),
])
def test_unreadable_files_name_the_file(tmp_path, content, fragment):
    path = tmp_path / "bad.json"
    path.write_text(content)
    with pytest.raises(DataFormatError) as err:
        load_qasper(path)
    assert str(path) in str(err.value) and fragment in str(err.value)


@pytest.mark.parametrize("paper, field", [
    ({"full_text": "oops", "qas": []}, "full_text"),
    ({"full_text": [{"paragraphs": [1]}], "qas": []}, "full_text[0].paragraphs[0]"),
    (make_paper([P1], [{"question": "Q?", "question_id": "q", "answers": "x"}]), "qas[0].answers"),
    (make_paper([P1], [{"question": 3, "question_id": "q", "answers": []}]), "qas[0].question"),
])
def test_layout_errors_name_file_paper_and_field(write_json, paper, field):
    path = write_json({"paper-x": paper})
    with pytest.raises(DataFormatError) as err:
        load_qasper(path)
    assert (err.value.path, err.value.record, err.value.field_name) == (str(path), "paper-x", field)
    assert str(path) in str(err.value) and "paper-x" in str(err.value) and field in str(err.value)


def test_split_is_deterministic_and_by_paper():
    splits = [split_for_document(f"paper-{i}") for i in range(2000)]
    assert splits == [split_for_document(f"paper-{i}") for i in range(2000)]
    share = {s: splits.count(s) / len(splits) for s in ("train", "dev", "test")}
    assert 0.65 < share["train"] < 0.75 and 0.07 < share["dev"] < 0.13 and 0.17 < share["test"] < 0.23


@needs_shared_data
def test_real_pool_matches_its_readme():
    corpus = load_qasper(SHARED_DATA / "qasper" / "qasper-train-pool.json")
    assert corpus.report.documents == 799
    assert len(corpus.passages) == 3027  # the README's 3,027 paragraphs
    assert corpus.report.queries_with_gold == 1984
    for q in corpus.queries:
        assert {q.split} == {split_for_document(q.doc_id)}
    raw = json.loads((SHARED_DATA / "qasper" / "qasper-train-pool.json").read_text())
    assert sum(len(p["qas"]) for p in raw.values()) == 1984
