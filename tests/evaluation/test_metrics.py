import math

import pytest

from uae_core.evaluation.metrics import mean_metrics, query_metrics


def test_hand_computed_single_gold():
    m = query_metrics(["a", "g", "b"], ["g"])
    assert m["success@1"] == 0.0 and m["success@5"] == 1.0 and m["recall@5"] == 1.0
    assert m["map"] == pytest.approx(0.5) and m["mrr@10"] == pytest.approx(0.5)
    assert m["ndcg@10"] == pytest.approx(1 / math.log2(3))


def test_hand_computed_two_golds_one_missing_from_ranking():
    # golds g1 (rank 1) and g2 (not retrieved): AP = (1/1) / 2
    m = query_metrics(["g1", "x", "y"], ["g1", "g2"])
    assert m["success@1"] == 1.0 and m["map"] == pytest.approx(0.5) and m["mrr@10"] == 1.0
    assert m["success@5"] == 1.0 and m["recall@5"] == 0.5 == m["recall@20"]  # one of two golds found
    assert m["ndcg@10"] == pytest.approx(1.0 / (1 + 1 / math.log2(3)))


def test_hand_computed_two_golds_ranked_2_and_4():
    m = query_metrics(["x", "g1", "y", "g2", "z", "w"], ["g1", "g2"])
    assert m["map"] == pytest.approx((1 / 2 + 2 / 4) / 2)
    assert m["success@1"] == 0.0 and m["recall@5"] == 1.0 and m["mrr@10"] == pytest.approx(0.5)
    dcg = 1 / math.log2(3) + 1 / math.log2(5)
    assert m["ndcg@10"] == pytest.approx(dcg / (1 + 1 / math.log2(3)))


def test_gold_beyond_ten_counts_for_map_not_mrr():
    ranking = [f"x{i}" for i in range(10)] + ["g"]
    m = query_metrics(ranking, ["g"])
    assert m["mrr@10"] == 0.0 and m["ndcg@10"] == 0.0 and m["map"] == pytest.approx(1 / 11)


def test_mean_over_queries_and_empty_gold_rejected():
    means = mean_metrics([["g"], ["x", "g"]], [["g"], ["g"]])
    assert means["success@1"] == pytest.approx(0.5) and means["mrr@10"] == pytest.approx(0.75)
    with pytest.raises(ValueError):
        query_metrics(["a"], [])
