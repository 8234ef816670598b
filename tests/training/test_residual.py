"""BM25-residual weights: a question whose most useful candidate BM25 already ranks first counts less than one
BM25 misses, and the weighted losses give the weighted question's loss that share."""

import pytest
import torch

from uae_core.data import Passage, Query
from uae_core.labeling.candidates import CandidateSet
from uae_core.training.losses import kl_distillation_loss, utility_infonce_loss
from uae_core.training.residual import residual_weights

PASSAGES = [Passage("p0", "d0", "", "the boiling point of water is one hundred degrees"),
            Passage("p1", "d1", "", "a liquid turns to vapour when heated enough"),
            Passage("p2", "d2", "", "penguins live in the southern hemisphere"),
            Passage("p3", "d3", "", "emperor birds of antarctica huddle in winter")]
QUERIES = [Query("lexical", "d0", "what is the boiling point of water", (), (), ("p0",), "train"),
           Query("semantic", "d3", "where do penguins live", (), (), ("p3",), "train")]
SETS = [CandidateSet("lexical", ("p0", "p1")), CandidateSet("semantic", ("p2", "p3"))]
# the teacher prefers BM25's top passage for the first question, a passage BM25 ranks lower for the second
UTILITIES = {"lexical": {"p0": 1.0, "p1": 0.1}, "semantic": {"p2": 0.1, "p3": 1.0}}


def test_the_question_bm25_misses_weighs_more_and_the_weights_average_one():
    weights = residual_weights(PASSAGES, QUERIES, SETS, UTILITIES, "corpus", floor=0.2)
    assert weights["semantic"] > weights["lexical"]
    assert weights["lexical"] == pytest.approx(2 * 0.2 / 1.2)  # BM25's top: the floor, then mean-normalised
    assert sum(weights.values()) / len(weights) == pytest.approx(1.0)


def test_floor_one_weighs_nothing():
    assert residual_weights(PASSAGES, QUERIES, SETS, UTILITIES, "corpus", floor=1.0) == {}


@pytest.mark.parametrize("loss", [
    lambda s, u, w: kl_distillation_loss(s, u, 0.3, query_weights=w),
    lambda s, u, w: utility_infonce_loss(s, u, 0.3, query_weights=w)])
def test_a_weight_scales_its_question_share_of_the_loss(loss):
    scores = torch.tensor([[2.0, 0.0], [0.0, 2.0]])
    utilities = torch.tensor([[-1.0, 1.0], [-1.0, 1.0]])  # the first question's student is wrong
    alike = loss(scores, utilities, None)
    assert loss(scores, utilities, torch.ones(2)) == pytest.approx(alike.item())
    assert loss(scores, utilities, torch.tensor([1.5, 0.5])) > alike  # the wrong one weighs more
    assert loss(scores, utilities, torch.tensor([0.5, 1.5])) < alike
