"""Utility-modulated InfoNCE: contrast the most useful candidate against the rest, weighted by utility.

Inputs:
    student_scores  [B, K]  cos / tau_s over each query's own candidates
    utilities       [B, K]  teacher utilities
    mask            [B, K]  True where a candidate exists
    inbatch_scores  [B, M]  optional, cos / tau_s against passages of other queries in the batch
    inbatch_mask    [B, M]  True where such a passage is a valid negative for this query
The positive d+ is the candidate with the highest utility; a query whose best utility is below `margin`
is skipped (no candidate helps). Candidate j is a negative with weight w_j = clip(1 - p_j / p_+, 0, 1),
p = softmax(utility / tau_t): a passage nearly as useful as the positive is hardly pushed away, a similar
looking but useless one fully. In-batch passages of other queries get weight 1.
    L = -log( e^{s+} / (e^{s+} + sum_j w_j e^{s_j}) ), averaged over the queries kept.

Example:
    >>> import torch
    >>> u = torch.tensor([[2.0, 1.9, -1.0]])
    >>> good = utility_infonce_loss(torch.tensor([[3.0, 2.9, 0.0]]), u, tau_t=0.3)
    >>> bad = utility_infonce_loss(torch.tensor([[0.0, 0.0, 3.0]]), u, tau_t=0.3)
    >>> bool(good < bad)
    True
"""

from __future__ import annotations

import torch

from uae_core.training.losses.kl_distillation import teacher_distribution


def utility_infonce_loss(student_scores: torch.Tensor, utilities: torch.Tensor, tau_t: float,
                         mask: torch.Tensor | None = None, margin: float = float("-inf"),
                         inbatch_scores: torch.Tensor | None = None,
                         inbatch_mask: torch.Tensor | None = None) -> torch.Tensor:
    if mask is None:
        mask = torch.ones_like(utilities, dtype=torch.bool)
    masked_u = utilities.masked_fill(~mask, float("-inf"))
    best_u, pos = masked_u.max(dim=-1)
    keep = best_u >= margin
    if not keep.any():
        return student_scores.sum() * 0.0  # keeps the graph; no query has a useful passage
    p = teacher_distribution(utilities, tau_t, mask)
    p_pos = p.gather(-1, pos[:, None])
    weights = (1.0 - p / p_pos).clamp(0.0, 1.0) * mask
    weights.scatter_(-1, pos[:, None], 0.0)
    s_pos = student_scores.gather(-1, pos[:, None]).squeeze(-1)
    log_w = torch.log(weights.clamp_min(1e-30)).masked_fill(weights == 0, float("-inf"))
    terms = [s_pos[:, None], student_scores + log_w]
    if inbatch_scores is not None:
        ib_mask = inbatch_mask if inbatch_mask is not None else torch.ones_like(inbatch_scores, dtype=torch.bool)
        terms.append(inbatch_scores.masked_fill(~ib_mask, float("-inf")))
    log_denominator = torch.logsumexp(torch.cat(terms, dim=-1), dim=-1)
    return (log_denominator - s_pos)[keep].mean()
