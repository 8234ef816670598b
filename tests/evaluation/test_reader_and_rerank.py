"""LLM re-ranking (UPR) and the answer-quality evaluation, on a tiny random causal LM."""

import numpy as np
import pytest

from uae_core.data import Passage, Query
from uae_core.evaluation.reader import Reader, answer_f1
from uae_core.labeling.answers import answers_for
from uae_core.labeling.teacher import ScoreRequest, TeacherConfig, load_teacher
from uae_core.retrieval.rerank import rerank, rerank_system

PASSAGES = [Passage(f"A::0::{i}", "A", "s", text) for i, text in enumerate([
    "Transformers use attention to mix tokens.", "The cat sat on the mat all day long.",
    "We evaluate on QASPER with Recall@1.", "Gradient descent minimises the loss."])]
QUERY = Query("q1", "A", "What do transformers use?", ("attention", "self-attention"), ("attention", ""),
              ("A::0::0",), "test")


@pytest.fixture(scope="module")
def upr(tiny_teacher_dir):
    return load_teacher(TeacherConfig(model=str(tiny_teacher_dir), batch_size=3), cache_dir="unused")


def test_upr_orders_candidates_by_log_p_of_the_question_given_the_passage(upr):
    candidates = np.array([3, 1, 0, 2])
    scores = upr.score([ScoreRequest("question", QUERY.question, passage=PASSAGES[r].text) for r in candidates])
    order = rerank(upr, QUERY, candidates, PASSAGES)
    assert sorted(order) == sorted(candidates)
    assert list(order) == list(candidates[np.argsort([-ll for ll, _ in scores], kind="stable")])
    prompt, target = upr.encode(ScoreRequest("question", QUERY.question, passage=PASSAGES[0].text))
    assert target == upr.prompts.ids(" " + QUERY.question)  # the question is what gets scored
    text = upr.tokenizer.decode(prompt)
    assert "transformers use attention" in text and "write a question" in text  # the question prompt


def test_rerank_system_reorders_only_the_top_depth(upr):
    first_stage = lambda queries, allowed: [np.array([3, 2, 1, 0]) for _ in queries]
    ranking = rerank_system(first_stage, upr, PASSAGES, depth=2)([QUERY], None)[0]
    assert set(ranking[:2]) == {3, 2} and list(ranking[2:]) == [1, 0]


def test_answer_f1_scores_generated_answers_and_caches_them(tiny_teacher_dir):
    reader = Reader(load_teacher(TeacherConfig(model=str(tiny_teacher_dir)), cache_dir="unused"), max_new_tokens=4,
                    batch_size=2)
    cache: dict[str, str] = {}
    rankings = [np.array([0, 1, 2])]
    f1 = answer_f1(reader, [QUERY], rankings, PASSAGES, k=2, cache=cache)
    assert list(cache) == ["q1|A::0::0,A::0::1"]
    cache["q1|A::0::0,A::0::1"] = "it is self attention"  # a cached answer is used as is
    # vs "attention": precision 1/4, recall 1 -> F1 0.4; vs "self-attention" ("selfattention"): 0 -> max 0.4
    assert answer_f1(reader, [QUERY], rankings, PASSAGES, k=2, cache=cache)[0] == pytest.approx(0.4)
    assert 0.0 <= f1[0] <= 1.0
    prompt = reader.teacher.answer_prompt(QUERY.question, [PASSAGES[0].text, PASSAGES[1].text])
    text = reader.teacher.tokenizer.decode(prompt)
    assert "transformers use attention" in text and "cat sat" in text and text.replace(" ", "").endswith("answer:")


def test_extractive_answer_policy_scores_the_spans_where_given():
    assert answers_for(QUERY, "first") == ["attention"]
    assert answers_for(QUERY, "average") == ["attention", "self-attention"]
    assert answers_for(QUERY, "average_extractive") == ["attention", "self-attention"]  # 2nd has no span
    q = Query("q2", "A", "Which?", ("We use the BERT model",), ("BERT",), (), "train")
    assert answers_for(q, "first_extractive") == ["BERT"]
    with pytest.raises(ValueError, match="answer_policy"):
        answers_for(q, "last")


def test_evaluate_reports_token_f1_and_llm_reranking_side_by_side(upr, tiny_teacher_dir):
    from uae_core.evaluation.report import AnswerEval, evaluate, to_markdown

    fixed = lambda queries, allowed: [np.array([1, 0, 2, 3]) for _ in queries]
    reader = Reader(load_teacher(TeacherConfig(model=str(tiny_teacher_dir)), cache_dir="unused"), max_new_tokens=3)
    answers = AnswerEval(reader, (1, 3))
    report = evaluate({"base": fixed, "llm_rerank": rerank_system(fixed, upr, PASSAGES, depth=4)}, PASSAGES,
                      [QUERY], "corpus", answers=answers)
    assert report["metrics"][-2:] == ["f1@1", "f1@3"]
    assert report["systems"]["base"]["success@1"] == 0.0  # the fixed ranking puts gold second
    for system in ("base", "llm_rerank"):
        assert 0.0 <= report["systems"][system]["f1@3"] <= 1.0
    assert {k.split("|")[1] for k in answers.cache} >= {"A::0::1", "A::0::1,A::0::0,A::0::2"}
    assert "f1@3" in to_markdown(report, "t")
