import json

import pytest

from tests.data.writers import write_jsonl, write_parquet
from tests.helpers import SHARED_DATA, synthetic_qasper
from uae_core.data import LOADERS, describe_source, detect_format, load_corpus

COVIDQA = SHARED_DATA / "covidqa" / "covidqa-dev.json"


def layouts(root):
    """One source of each format, as `detect_format` should recognise it."""
    (root / "qasper.json").write_text(json.dumps(synthetic_qasper(2)))
    write_jsonl(root / "beir" / "corpus.jsonl", [{"_id": "d", "text": "t"}])
    write_jsonl(root / "beir" / "queries.jsonl", [{"_id": "q", "text": "Q?"}])
    write_jsonl(root / "jsonl" / "passages.jsonl", [{"id": "p", "text": "t"}])
    (root / "jsonl" / "README.md").write_text("a jsonl folder may have a README")
    write_parquet(root / "parquet" / "passages.parquet", [{"id": "p", "text": "t"}])
    (root / "documents" / "sub").mkdir(parents=True)
    (root / "documents" / "sub" / "a.md").write_text("# A\n\ntext")
    return {"qasper": root / "qasper.json", "beir": root / "beir", "jsonl": root / "jsonl",
            "parquet": root / "parquet", "documents": root / "documents"}


def test_detect_format_and_auto_loading(tmp_path):
    assert set(LOADERS) == {"qasper", "beir", "jsonl", "parquet", "documents"}
    for fmt, path in layouts(tmp_path).items():
        assert detect_format(path) == fmt
        assert load_corpus(path, "auto").passages == load_corpus(path, fmt).passages
        assert describe_source(path, "auto").format == fmt


def put(path, text: str = "text"):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


@pytest.mark.parametrize("make", [
    lambda root: put(root / "x.csv", "id,text"),  # a file of another kind
    lambda root: put(root / "list.json", "[1]"),  # JSON, but not an object of papers
    lambda root: put(root / "only.pdf").parent,  # a folder with nothing readable
    lambda root: put(root / ".hidden" / "a.md").parent.parent,  # documents only in a hidden folder
])
def test_unknown_layout_is_a_clear_error(tmp_path, make):
    source = make(tmp_path)
    with pytest.raises(ValueError) as err:
        detect_format(source)
    assert str(source) in str(err.value) and "expected a QASPER .json file" in str(err.value)
    assert "passages.jsonl" in str(err.value) and ".txt/.md" in str(err.value)


def test_ambiguous_and_missing_sources(tmp_path):
    write_jsonl(tmp_path / "passages.jsonl", [{"id": "p", "text": "t"}])
    write_parquet(tmp_path / "passages.parquet", [{"id": "p", "text": "t"}])
    with pytest.raises(ValueError, match=r"both passages\.jsonl and passages\.parquet"):
        detect_format(tmp_path)
    with pytest.raises(FileNotFoundError):
        detect_format(tmp_path / "nope")
    with pytest.raises(ValueError, match="unknown data format 'csv'"):
        load_corpus(tmp_path, "csv")


def qasper_to_jsonl(raw: dict, folder):
    """The QASPER layout rewritten as the jsonl layout, independently of load_qasper: one passage per
    non-empty paragraph (first copy within a paper), answers as QASPER's reference answers, gold = the
    paragraphs equal to an annotator's evidence."""
    passages, questions = [], []
    for paper_id, paper in raw.items():
        by_text = {}
        for s, section in enumerate(paper["full_text"]):
            for p, text in enumerate(section["paragraphs"]):
                if text.strip() and text.strip() not in by_text:
                    by_text[text.strip()] = f"{paper_id}::{s}::{p}"
                    passages.append({"id": by_text[text.strip()], "doc_id": paper_id,
                                     "section": section["section_name"] or "", "text": text})
        for qa in paper["qas"]:
            answers, gold = [], []
            for wrapper in qa["answers"]:
                a = wrapper["answer"]
                text = a["free_form_answer"].strip() or ", ".join(s.strip() for s in a["extractive_spans"])
                if a["unanswerable"] or not text:
                    continue
                answers.append(text)
                gold += [by_text[e.strip()] for e in a["evidence"] if e.strip() in by_text]
            questions.append({"id": qa["question_id"], "question": qa["question"], "answers": answers,
                              "gold_ids": list(dict.fromkeys(gold)), "doc_id": paper_id})
    write_jsonl(folder / "passages.jsonl", passages)
    write_jsonl(folder / "questions.jsonl", questions)
    return folder


@pytest.mark.skipif(not COVIDQA.is_file(), reason=f"real data not present at {COVIDQA} (see its README)")
def test_covidqa_slice_as_jsonl_matches_the_qasper_original(tmp_path):
    raw = json.loads(COVIDQA.read_text())
    slice_ = dict(list(raw.items())[:10])
    (tmp_path / "slice.json").write_text(json.dumps(slice_))
    original = load_corpus(tmp_path / "slice.json", "qasper")
    copy = load_corpus(qasper_to_jsonl(slice_, tmp_path / "jsonl"), "jsonl")
    assert original.report.documents == copy.report.documents == 10
    assert copy.passages == original.passages and len(copy.passages) > 100
    by_id = {q.query_id: q for q in copy.queries}
    assert set(by_id) == {q.query_id for q in original.queries}  # every COVID-QA question has an answer
    assert len(original.queries) == original.report.queries_with_gold > 50
    for q in original.queries:
        c = by_id[q.query_id]
        assert (c.doc_id, c.question, c.answers, c.gold_passage_ids, c.split) == \
               (q.doc_id, q.question, q.answers, q.gold_passage_ids, q.split)
    assert copy.report.skipped["evidence_unmatched"] == original.report.skipped["evidence_unmatched"] == 0
