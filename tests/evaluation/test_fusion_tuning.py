"""The questions the hybrid's fusion is chosen on: dev, plus train questions from documents the student never
trained on (never a trained question, never one that shares its document, never test)."""

import pytest

from uae_core.data import Passage, Query
from uae_core.evaluation.compare import tune_hybrid, tuning_questions
from uae_core.evaluation.report import run_system
from uae_core.retrieval.systems import bm25_system

PASSAGES = [Passage("a1", "A", "s", "graph neural networks for molecules"),
            Passage("b1", "B", "s", "speech recognition with transducers"),
            Passage("c1", "C", "s", "machine translation of low resource languages"),
            Passage("d1", "D", "s", "sentiment lexicons for finance"),
            Passage("e1", "E", "s", "named entity recognition in tweets")]


def _q(qid, doc, text, gold, split):
    return Query(qid, doc, text, ("x",), ("",), gold, split)


QUERIES = [_q("trained", "A", "graph neural networks?", ("a1",), "train"),
           _q("same_doc", "A", "molecules graph networks?", ("a1",), "train"),  # its document was trained on
           _q("unseen", "B", "speech recognition transducers?", ("b1",), "train"),
           _q("no_gold", "E", "named entity tweets?", (), "train"),
           _q("dev", "C", "which finance lexicons?", ("c1",), "dev"),  # BM25 ranks c1 low
           _q("test", "D", "sentiment lexicons finance?", ("d1",), "test")]


def test_tuning_questions_add_only_unseen_documents_train_questions():
    assert [q.query_id for q in tuning_questions(QUERIES)] == ["dev"]  # nothing known of training: dev only
    assert [q.query_id for q in tuning_questions(QUERIES, ["trained"])] == ["dev", "unseen"]
    assert [q.query_id for q in tuning_questions(QUERIES, [])] == ["dev", "trained", "same_doc", "unseen"]


def test_tune_hybrid_scores_the_fusion_on_the_tuning_questions():
    bm25 = bm25_system(PASSAGES)

    def score(qids):  # mean of R@1 and MAP per question, by the report's own path
        per = [run_system(bm25, PASSAGES, [q], "corpus", latency_queries=0).metrics
               for q in QUERIES if q.query_id in qids]
        return sum((m["success@1"] + m["map"]) / 2 for m in per) / len(per)

    _, dev_only = tune_hybrid(bm25, bm25, PASSAGES, QUERIES, "corpus", min_questions=1)  # BM25 with itself: BM25
    _, with_unseen = tune_hybrid(bm25, bm25, PASSAGES, QUERIES, "corpus", trained=["trained"], min_questions=1)
    assert dev_only == pytest.approx(score({"dev"})) and dev_only < 0.5  # dev's gold is not ranked first
    assert with_unseen == pytest.approx(score({"dev", "unseen"})) and with_unseen > dev_only


def test_too_few_tuning_questions_give_the_untuned_default_and_the_report_says_so():
    from uae_core.evaluation.report import to_markdown
    from uae_core.retrieval.fusion import MIN_TUNING_QUESTIONS, UNTUNED

    bm25 = bm25_system(PASSAGES)
    assert len(tuning_questions(QUERIES)) < MIN_TUNING_QUESTIONS
    fusion, score = tune_hybrid(bm25, bm25, PASSAGES, QUERIES, "corpus")
    assert fusion == UNTUNED and score != score  # nan: nothing was tuned
    tuned, tuned_score = tune_hybrid(bm25, bm25, PASSAGES, QUERIES, "corpus", min_questions=1)
    assert tuned_score == tuned_score  # enough questions (here: 1 asked for): chosen, with its tuning score
    report = {"n_queries": 1, "n_passages": len(PASSAGES), "scope": "corpus", "systems": {},
              "fusions": {"hybrid_base": {**UNTUNED.as_dict(), "tuning_questions": 1, "tuned": False},
                          "hybrid": {**tuned.as_dict(), "tuning_questions": 120, "tuned": True}}}
    text = to_markdown(report, "t")
    assert "`hybrid_base`: convex, dense weight 0.5, the untuned default: only 1 tuning questions" in text
    assert "`hybrid`: convex, dense weight" in text and "chosen on 120 tuning questions" in text
