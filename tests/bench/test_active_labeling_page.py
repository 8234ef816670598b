"""bench.active_labeling's summary: means over seeds, and each policy's test R@1 difference from `all` paired
per question over the seeds both have (rows as curve_point writes them; no training here)."""

import pytest

from bench.active_labeling import against_all, page


def row(policy, seed, hits, pairs):
    rate = sum(hits.values()) / len(hits)
    return {"domain": "d", "policy": policy, "pairs": pairs, "questions": pairs // 2, "seed": seed,
            "dev": {"success@1": rate, "map": rate}, "test": {"success@1": rate, "map": rate},
            "per_query": {"test": hits}}


def test_policies_are_compared_with_all_labels_question_by_question():
    qids = [f"q{i}" for i in range(100)]
    full = {s: row("all", s, {q: int(i < 30) for i, q in enumerate(qids)}, 800) for s in (0, 1)}
    # margin misses 3 of all's hits in seed 0 and 1 in seed 1: -2 points on average over the two seeds.
    margin = {0: row("margin", 0, {q: int(i < 27) for i, q in enumerate(qids)}, 400),
              1: row("margin", 1, {q: int(i < 29) for i, q in enumerate(qids)}, 400)}
    lines = {x["policy"]: x for x in against_all([*full.values(), *margin.values()])}
    assert lines["all"]["seeds"] == [0, 1] and "vs_all" not in lines["all"]
    vs = lines["margin"]["vs_all"]
    assert vs["seeds"] == [0, 1] and vs["diff"] == pytest.approx(-0.02) and vs["low"] < -0.02 < vs["high"] <= 0
    assert lines["margin"]["test"]["success@1"] == pytest.approx(0.28)
    assert "| d | margin | 400 | 0, 1 | 0.280 | 0.280 | 0.280 | 0.280 | -2.0 [" in page(
        [*full.values(), *margin.values()], "python -m bench.active_labeling")


def test_rows_without_per_question_hits_get_no_interval():
    old = row("margin", 0, {"q": 1}, 400)
    del old["per_query"]
    lines = {x["policy"]: x for x in against_all([row("all", 0, {"q": 1}, 800), old])}
    assert "vs_all" not in lines["margin"]
