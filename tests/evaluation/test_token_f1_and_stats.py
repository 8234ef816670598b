import numpy as np
import pytest

from uae_core.evaluation.stats import paired_bootstrap_difference, paired_bootstrap_gain
from uae_core.evaluation.token_f1 import max_token_f1, normalize_answer, token_f1


def test_normalisation_and_hand_computed_f1():
    assert normalize_answer("The  BERT-base model!") == "bertbase model"
    # pred {bert, large}, ref {bert, base, model}: 1 common, P = 1/2, R = 1/3, F1 = 0.4
    assert token_f1("BERT large", "the BERT base model") == pytest.approx(0.4)
    assert token_f1("an apple", "apple") == 1.0 and token_f1("yes", "no") == 0.0
    assert token_f1("", "") == 1.0 and token_f1("the", "x") == 0.0
    assert max_token_f1("BERT large", ["no", "BERT large model"]) == pytest.approx(0.8)


def test_bootstrap_on_a_known_case():
    rng = np.random.default_rng(1)
    base = rng.uniform(0.2, 0.4, size=400)
    better = base * 1.3  # exactly +30 % on every query: the interval collapses around 0.3
    interval = paired_bootstrap_gain(better, base)
    assert [interval.gain, interval.low, interval.high] == pytest.approx([0.3, 0.3, 0.3])
    noise = rng.permutation(base)  # same distribution, no real gain: the interval straddles 0
    interval = paired_bootstrap_gain(noise, base)
    assert interval.low < 0 < interval.high and not interval.excludes_zero
    hits = (rng.uniform(size=400) < 0.3).astype(float)
    interval = paired_bootstrap_gain(np.maximum(hits, (rng.uniform(size=400) < 0.2)), hits)
    assert interval.excludes_zero and interval.low > 0
    with pytest.raises(ValueError):
        paired_bootstrap_gain(np.ones(3), np.ones(4))


def test_paired_difference_in_points_and_its_interval():
    rng = np.random.default_rng(1)
    base = rng.integers(0, 2, 400).astype(float)
    better = base.copy()
    better[np.flatnonzero(base == 0)[:40]] = 1  # 40 more hits of 400: +0.10
    diff, low, high = paired_bootstrap_difference(better, base)
    assert diff == pytest.approx(0.10) and 0 < low < 0.10 < high < 0.2
    same = paired_bootstrap_difference(base, base)
    assert same == (0.0, 0.0, 0.0)  # paired: identical systems differ by nothing in every resample
    with pytest.raises(ValueError):
        paired_bootstrap_difference(base, base[:10])
