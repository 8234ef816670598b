"""The pool the merge shares are scored on (evaluation.screen), on a tiny random student: what it holds at
each scope, and that it is exact where it should be."""

import pytest

from uae_core.data import Passage, Query
from uae_core.evaluation.compare import dev_metrics
from uae_core.evaluation.screen import screen_metrics, screening_pool
from uae_core.retrieval.encoder import load_student

WORDS = ["graph", "speech", "translation", "sentiment", "answering", "entities", "parsing", "summaries"]
PASSAGES = [Passage(f"p{i}", f"doc{i % 4}", "s", f"{WORDS[i % 8]} {WORDS[(3 * i) % 8]} methods, part {i}")
            for i in range(40)]
QUERIES = ([Query(f"d{i}", f"doc{i % 4}", f"what about {WORDS[i]}?", ("A",), ("",), (f"p{i}",), "dev")
            for i in range(3)]
           + [Query(f"t{i}", "doc3", f"and {WORDS[i]}?", ("A",), ("",), (f"p{30 + i}",), "test") for i in range(3)]
           + [Query("nogold", "doc1", "anything?", ("A",), ("",), (), "dev")])


@pytest.fixture(scope="module")
def student(tiny_student_dir):
    return load_student(str(tiny_student_dir), max_seq_length=32)


def test_corpus_pool_holds_the_gold_and_each_retrievers_top_and_little_else(student, tmp_path):
    pool = screening_pool(PASSAGES, QUERIES, "corpus", student, tmp_path, top=2)
    ids = {p.passage_id for p in pool}
    assert {"p0", "p1", "p2"} <= ids  # every dev question's gold
    assert len(ids) <= 3 + 3 * 2 * 2 < len(PASSAGES)  # gold + top 2 of BM25 and of the base, per dev question
    assert [p.passage_id for p in pool] == [p.passage_id for p in PASSAGES if p.passage_id in ids]  # corpus order


def test_document_pool_is_the_dev_documents_and_scores_exactly_as_the_whole_corpus(student, tmp_path):
    pool = screening_pool(PASSAGES, QUERIES, "document", student, tmp_path)
    assert {p.doc_id for p in pool} == {"doc0", "doc1", "doc2"} and len(pool) == 30
    assert screen_metrics(student, pool, QUERIES, "document", tmp_path) == pytest.approx(
        dev_metrics(student, PASSAGES, QUERIES, "document", tmp_path))


def test_a_pool_as_deep_as_the_corpus_scores_as_the_whole_corpus(student, tmp_path):
    pool = screening_pool(PASSAGES, QUERIES, "corpus", student, tmp_path, top=len(PASSAGES))
    assert len(pool) == len(PASSAGES)
    assert screen_metrics(student, pool, QUERIES, "corpus", tmp_path) == pytest.approx(
        dev_metrics(student, PASSAGES, QUERIES, "corpus", tmp_path))


def test_no_dev_question_with_gold_gives_an_empty_pool_and_no_metrics(student, tmp_path):
    test_only = [q for q in QUERIES if q.split == "test" or not q.gold_passage_ids]
    assert screening_pool(PASSAGES, test_only, "corpus", student, tmp_path) == []
    assert screen_metrics(student, [], test_only, "corpus", tmp_path) == {}


def test_the_merge_pool_is_used_only_where_it_saves_half_a_corpus_encode(student, tmp_path):
    from uae_core.evaluation.screen import merge_pool, worth_screening

    assert merge_pool(PASSAGES, QUERIES, "corpus", student, tmp_path, shares=2) == []  # ~39 of 40: no gain
    large = PASSAGES + [Passage(f"x{i}", f"doc{4 + i // 50}", "s", f"unrelated filler number {i}") for i in range(960)]
    pool = merge_pool(large, QUERIES, "corpus", student, tmp_path / "large", shares=2)
    assert {"p0", "p1", "p2"} <= {p.passage_id for p in pool} and 2 * len(pool) <= len(large) / 2
    assert merge_pool(large, QUERIES, "corpus", student, tmp_path / "large", shares=1) == []  # nothing to choose
    assert worth_screening(250, 1000, 2) and not worth_screening(251, 1000, 2) and not worth_screening(0, 1000, 2)
