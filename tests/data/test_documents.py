import pytest

from tests.data.writers import write_jsonl
from uae_core.data import DataFormatError, LoadOptions, load_corpus, split_for_document
from uae_core.data.documents import chunk, load_documents, split_long


def words(n: int, tag: str = "w") -> str:
    return " ".join(f"{tag}{i}" for i in range(n))


def sentences(n: int, length: int = 10) -> str:
    return " ".join(words(length, f"s{i}x") + "." for i in range(n))


MARKDOWN = f"""# Guide

Short one.

Short two
wrapped over a line.

## Setup

{words(30)}

```
# a comment in a code fence, not a heading
```

## Long part

{sentences(25)}
"""


def test_markdown_headings_paragraphs_and_budget():
    chunks = chunk(MARKDOWN, budget=40, markdown=True)
    sections = [s for s, _ in chunks]
    assert chunks[0] == ("Guide", "Short one.\n\nShort two wrapped over a line.")  # short paragraphs merged
    assert chunks[1] == ("Setup", words(30))  # 30 + 12 words would pass the budget
    assert chunks[2] == ("Setup", "``` # a comment in a code fence, not a heading ```")
    assert sections[3:] == ["Long part"] * (len(chunks) - 3)  # never merged across a heading
    long_pieces = [t for s, t in chunks if s == "Long part"]
    assert " ".join(long_pieces) == sentences(25)  # split at sentence ends, nothing lost
    assert all(len(t.split()) <= 40 for _, t in chunks)
    sizes = [len(t.split()) for t in long_pieces]  # 250 words, budget 40: 7 pieces of 30-40, no stub
    assert sizes == [40, 40, 30, 40, 30, 40, 30]


def test_plain_text_has_no_headings():
    assert chunk("# not a heading\nstill text\n\nnext", budget=100, markdown=False) == [
        ("", "# not a heading still text\n\nnext")]


def test_split_long_keeps_sentences_and_cuts_a_giant_one_by_words():
    assert split_long("Short.", 10) == ["Short."]
    pieces = split_long(sentences(6, 10), 25)  # 60 words -> 3 pieces of 2 sentences
    assert [len(p.split()) for p in pieces] == [20, 20, 20]
    giant = split_long(words(50), 20)
    assert [len(p.split()) for p in giant] == [20, 20, 10] and " ".join(giant) == words(50)


def make_folder(root):
    (root / "guide.md").write_text(MARKDOWN)
    (root / "notes").mkdir()
    (root / "notes" / "b.txt").write_text("Second document, first paragraph.\n\n\n")
    (root / "notes" / "a.TXT").write_text("First in sort order.")
    (root / "notes" / "empty.txt").write_text("\n \n")
    (root / "image.png").write_bytes(b"\x89PNG")
    (root / ".git").mkdir()
    (root / ".git" / "HEAD.txt").write_text("hidden")
    return root


def test_folder_of_documents_without_questions(tmp_path):
    corpus = load_corpus(make_folder(tmp_path), "documents", LoadOptions(chunk_words=40))
    ids = [p.passage_id for p in corpus.passages]
    assert ids[:2] == ["guide.md::0", "guide.md::1"] and ids[-2:] == ["notes/a.TXT::0", "notes/b.txt::0"]
    assert {p.doc_id for p in corpus.passages} == {"guide", "notes/a", "notes/b"}
    assert corpus.queries == [] and corpus.report.documents == 3
    assert corpus.report.skipped == {"empty_documents": 1, "unsupported_files": 1, "hidden_files": 1}


def test_chunk_words_sets_the_passage_size(tmp_path):
    small = load_documents(make_folder(tmp_path), LoadOptions(chunk_words=15))
    large = load_documents(tmp_path, LoadOptions(chunk_words=1000))
    assert all(len(p.text.split()) <= 15 for p in small.passages)
    assert len(small.passages) > len(large.passages)
    assert [p.section for p in large.passages if p.doc_id == "guide"] == ["Guide", "Setup", "Long part"]
    with pytest.raises(ValueError, match="chunk_words"):
        load_documents(tmp_path, LoadOptions(chunk_words=0))


def test_questions_jsonl_gives_questions_with_gold(tmp_path):
    make_folder(tmp_path)
    write_jsonl(tmp_path / "questions.jsonl", [
        {"id": "q1", "question": "What comes first?", "gold_ids": ["notes/a.TXT::0", "notes/a.TXT::9"],
         "doc_id": "notes/a"},
        {"id": "q2", "question": "Without answers or gold?"}])
    corpus = load_documents(tmp_path)
    q1, q2 = corpus.queries
    assert q1.gold_passage_ids == ("notes/a.TXT::0",) and q1.split == split_for_document("notes/a")
    assert q2.answers == () and q2.gold_passage_ids == () and q2.split == split_for_document("q2")
    assert corpus.report.skipped["evidence_unmatched"] == 1
    assert corpus.report.skipped["unsupported_files"] == 1  # image.png; questions.jsonl is read, not counted


def test_same_document_id_twice_is_an_error(tmp_path):
    (tmp_path / "a.md").write_text("one")
    (tmp_path / "a.txt").write_text("two")
    with pytest.raises(DataFormatError) as err:
        load_documents(tmp_path)
    assert err.value.field_name == "doc_id" and "a.md" in str(err.value) and "a.txt" in str(err.value)


def test_not_utf8_and_empty_folder(tmp_path):
    with pytest.raises(DataFormatError, match="no passage with text"):
        load_documents(tmp_path)
    (tmp_path / "bad.txt").write_bytes(b"caf\xe9")
    with pytest.raises(DataFormatError, match="not UTF-8"):
        load_documents(tmp_path)
