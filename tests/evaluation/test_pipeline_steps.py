"""The retriever and evaluation steps of uae_core.pipeline, which the faiss_index and eval_report assets run and
bench.results calls: build_retriever is the embeddings, BM25 and the fusion tuned on tuning_questions, and
compare takes ready rankers (a recorded_system replays rankings kept from an earlier run)."""

import numpy as np
import pytest

from tests.evaluation.test_fusion_tuning import PASSAGES, QUERIES
from uae_core.evaluation.compare import compare, recorded_system, tune_hybrid, tuning_questions
from uae_core.evaluation.report import run_system
from uae_core.pipeline import build_retriever
from uae_core.retrieval.bm25 import BM25Index
from uae_core.retrieval.encoder import cached_encode, load_student
from uae_core.retrieval.index import build_index
from uae_core.retrieval.systems import bm25_system, dense_system


@pytest.fixture(scope="module")
def student(tiny_student_dir):
    return load_student(str(tiny_student_dir))


@pytest.mark.parametrize("trained", [None, ["trained"]])
def test_build_retriever_is_the_index_bm25_and_fusion_faiss_index_saves(tmp_path, student, trained):
    built = build_retriever(student, PASSAGES, QUERIES, "corpus", trained, tmp_path / "cache")
    embeddings = cached_encode(student, [p.text for p in PASSAGES], tmp_path / "cache")
    assert np.array_equal(built.embeddings, embeddings)
    fusion, score = tune_hybrid(dense_system(student, build_index(embeddings)), bm25_system(PASSAGES), PASSAGES,
                                QUERIES, "corpus", trained=trained)
    assert built.fusion == fusion and built.dev_score == pytest.approx(score, nan_ok=True)
    assert [q.query_id for q in built.tuning] == [q.query_id for q in tuning_questions(QUERIES, trained)]
    test = [q for q in QUERIES if q.split == "test"]
    for mine, theirs in ((built.dense, dense_system(student, build_index(embeddings))),
                         (built.bm25, bm25_system(PASSAGES))):
        assert [r.tolist() for r in mine(test, None)] == [r.tolist() for r in theirs(test, None)]
    assert len(built.hybrid(test, None)[0]) == len(PASSAGES)


def test_build_retriever_uses_a_given_bm25_index(tmp_path, student):
    bm25 = BM25Index([p.text for p in PASSAGES])
    assert build_retriever(student, PASSAGES, QUERIES, "corpus", None, tmp_path, bm25=bm25).bm25_index is bm25


def test_compare_evaluates_recorded_rankings_like_the_system_that_made_them(tmp_path, student):
    evaluated = [q for q in QUERIES if q.gold_passage_ids]
    bm25 = run_system(bm25_system(PASSAGES), PASSAGES, evaluated, "corpus", latency_queries=0)
    replay = recorded_system({q.query_id: row for q, row in zip(evaluated, bm25.rankings)})
    report = compare(PASSAGES, evaluated, "corpus", student, {}, tmp_path, rankers={"replay": replay})
    assert list(report["systems"]) == ["bm25", "base", "replay"]
    for m in ("success@1", "success@5", "map"):
        assert report["systems"]["replay"][m] == pytest.approx(report["systems"]["bm25"][m])
