"""The round's selection: a budget of new teacher pairs spent in the policy's order, labeled pairs kept."""

import numpy as np
import pytest

from uae_core.data import Passage, Query
from uae_core.labeling.candidates import CandidateSet
from uae_core.labeling.selection import (
    SelectionConfig,
    disagreement,
    margins,
    random_order,
    rank_questions,
    select_round,
)

SETS = [CandidateSet("a", ("p1", "p2")), CandidateSet("b", ("p3", "p4", "p5")), CandidateSet("c", ("p6", "p7")),
        CandidateSet("d", ("p8", "p9"))]


def test_a_round_keeps_labeled_pairs_and_buys_in_the_policy_order_within_the_budget():
    labeled = {("a", "p1"), ("a", "p2"), ("d", "p8")}  # a: done; d: half done
    chosen = select_round(SETS, labeled, ["b", "c", "d", "a"], round_pairs=4)
    # b costs 3 (fits), c costs 2 (3 + 2 > 4: skipped), d costs 1 (fits): 4 new pairs
    assert [(s.query_id, s.passage_ids) for s in chosen.sets] == [
        ("a", ("p1", "p2")), ("b", ("p3", "p4", "p5")), ("d", ("p8", "p9"))]
    assert (chosen.chosen, chosen.new_pairs, chosen.kept_pairs, chosen.waiting) == (2, 4, 3, 1)


def test_a_set_not_chosen_keeps_only_its_labeled_pairs():
    chosen = select_round(SETS, {("d", "p8")}, ["a"], round_pairs=2)
    assert [(s.query_id, s.passage_ids) for s in chosen.sets] == [("a", ("p1", "p2")), ("d", ("p8",))]
    assert chosen.waiting == 3


def test_a_policy_that_chooses_needs_a_budget_and_a_known_name():
    with pytest.raises(ValueError, match="round_pairs"):
        SelectionConfig(policy="margin")
    with pytest.raises(ValueError, match="policy"):
        SelectionConfig(policy="entropy", round_pairs=10)
    assert SelectionConfig().policy == "all"


def test_margin_ranks_the_encoder_unsure_first():
    passages = [Passage(f"p{i}", "doc", "", f"text {i}") for i in range(4)]
    emb = np.eye(4, dtype=np.float32)
    sets = [CandidateSet("sure", ("p0", "p1")), CandidateSet("unsure", ("p2", "p3"))]
    queries = np.array([[1.0, 0.0, 0, 0], [0, 0, 0.7, 0.71]], dtype=np.float32)
    gaps = margins(sets, passages, emb, queries)
    assert gaps[1] < gaps[0]  # 0.01 apart vs 1.0 apart


def test_disagreement_is_the_share_of_bm25s_top_missing_from_the_encoders():
    passages = [Passage("p0", "d", "", "zebra stripes"), Passage("p1", "d", "", "lion mane"),
                Passage("p2", "d", "", "owl")]
    queries = [Query("q0", "d", "zebra", (), (), (), "train"), Query("q1", "d", "lion", (), (), (), "train")]
    emb = np.eye(3, dtype=np.float32)
    agree_then_not = np.array([[1.0, 0, 0], [0, 0, 1.0]], dtype=np.float32)  # q1's encoder top: the owl
    worth = disagreement(passages, queries, emb, agree_then_not, "corpus", depth=1)
    assert list(worth) == [0.0, 1.0]


def test_rank_questions_orders_every_question_once(tiny_student_dir, write_json, tmp_path):
    from tests.helpers import synthetic_qasper
    from uae_core.data import load_corpus
    from uae_core.retrieval.encoder import load_student

    corpus = load_corpus(write_json(synthetic_qasper(6)))
    train = [q for q in corpus.queries if q.split == "train"]
    sets = [CandidateSet(q.query_id, tuple(p.passage_id for p in corpus.passages[:3])) for q in train]
    ids = [q.query_id for q in train]
    assert rank_questions("random", sets, corpus.passages, corpus.queries, "corpus") == random_order(ids)
    model = load_student(str(tiny_student_dir))
    for policy in ("margin", "disagreement"):
        ranked = rank_questions(policy, sets, corpus.passages, corpus.queries, "corpus", model, tmp_path / "cache")
        assert sorted(ranked) == sorted(ids)
    with pytest.raises(ValueError, match="needs an encoder"):
        rank_questions("margin", sets, corpus.passages, corpus.queries, "corpus")
