"""On hand-made cases, each objective moves the student toward the useful passage."""

import pytest
import torch

from uae_core.training.losses import gold_infonce_loss, kl_distillation_loss, teacher_distribution, utility_infonce_loss

UTILITY = torch.tensor([[-0.5, 1.0, 0.0]])  # passage 1 is the useful one
TAU_S, TAU_T = 0.1, 0.3


def _embeddings():
    torch.manual_seed(0)
    # The query starts closest to passage 0 (similar-looking but useless).
    q = torch.tensor([[1.0, 0.2, 0.0]])
    d = torch.tensor([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    return q.clone().requires_grad_(True), d.clone().requires_grad_(True)


def _scores(q, d):
    qn, dn = torch.nn.functional.normalize(q, dim=-1), torch.nn.functional.normalize(d, dim=-1)
    return qn @ dn.T / TAU_S


LOSSES = {
    "kl": lambda s: kl_distillation_loss(s, UTILITY, TAU_T),
    "umi": lambda s: utility_infonce_loss(s, UTILITY, TAU_T),
    "gold": lambda s: gold_infonce_loss(s, torch.tensor([[False, True, False]])),
}


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_gradient_steps_move_student_toward_useful_passage(name):
    q, d = _embeddings()
    before = _scores(q, d).detach()[0]
    assert before.argmax() == 0
    optimizer = torch.optim.SGD([q, d], lr=0.05)
    for _ in range(30):
        loss = LOSSES[name](_scores(q, d))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    after = _scores(q, d).detach()[0]
    assert after.argmax() == 1, f"{name}: scores {after.tolist()}"
    assert after[1] - after[0] > before[1] - before[0]


def test_kl_is_zero_when_student_matches_teacher():
    p = teacher_distribution(UTILITY, TAU_T)
    assert kl_distillation_loss(torch.log(p), UTILITY, TAU_T).item() == pytest.approx(0.0, abs=1e-6)


def test_umi_weights_spare_equally_useful_passages():
    # Candidates 0 and 1 are equally useful: pushing 1 away is weighted 0, so its score does not matter.
    u = torch.tensor([[1.0, 1.0, -2.0]])
    low = utility_infonce_loss(torch.tensor([[2.0, -5.0, 0.0]]), u, TAU_T)
    high = utility_infonce_loss(torch.tensor([[2.0, 5.0, 0.0]]), u, TAU_T)
    assert low.item() == pytest.approx(high.item(), abs=1e-6)
    # A useless candidate is pushed with weight ~1: raising its score raises the loss.
    assert utility_infonce_loss(torch.tensor([[2.0, 0.0, 3.0]]), u, TAU_T) > low


def test_umi_skips_queries_below_margin_and_masks_padding():
    u = torch.tensor([[-1.0, -2.0, 0.0], [1.0, 0.0, 0.0]])
    mask = torch.tensor([[True, True, False], [True, True, True]])
    s = torch.tensor([[9.0, -9.0, 100.0], [1.0, 0.0, 0.0]])
    both = utility_infonce_loss(s, u, TAU_T, mask=mask, margin=-10.0)
    only_second = utility_infonce_loss(s[1:], u[1:], TAU_T, margin=-10.0)
    kept = utility_infonce_loss(s, u, TAU_T, mask=mask, margin=0.0)  # query 0's best utility < 0: skipped
    assert kept.item() == pytest.approx(only_second.item())
    assert both.item() != pytest.approx(kept.item())


def test_in_batch_negatives_add_to_the_denominator():
    s = torch.tensor([[2.0, 0.0]])
    u = torch.tensor([[1.0, -1.0]])
    alone = utility_infonce_loss(s, u, TAU_T)
    with_batch = utility_infonce_loss(s, u, TAU_T, inbatch_scores=torch.tensor([[1.5, 3.0]]),
                                      inbatch_mask=torch.tensor([[True, False]]))
    p = torch.softmax(u / TAU_T, -1)[0]
    w1 = 1 - p[1] / p[0]  # weight of the less useful own candidate (score 0.0)
    expected = torch.logsumexp(torch.stack([torch.tensor(2.0), torch.log(w1) + 0.0, torch.tensor(1.5)]), 0) - 2.0
    assert with_batch > alone
    assert with_batch.item() == pytest.approx(expected.item(), rel=1e-5)
