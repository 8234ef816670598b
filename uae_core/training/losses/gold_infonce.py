"""Plain InfoNCE on gold evidence: the supervised, hard-label baseline that UAE must match or beat.

Inputs:
    student_scores  [B, K]  cos / tau_s over each query's candidates
    is_gold         [B, K]  True where the candidate is annotated gold evidence
    mask            [B, K]  True where a candidate exists
    inbatch_scores / inbatch_mask  optional in-batch negatives, as in utility_infonce_loss
Each gold candidate is a positive against all non-gold candidates (and in-batch passages); queries
without a gold candidate are skipped.

Example:
    >>> import torch
    >>> gold = torch.tensor([[True, False]])
    >>> bool(gold_infonce_loss(torch.tensor([[3.0, 0.0]]), gold) < gold_infonce_loss(torch.tensor([[0.0, 3.0]]), gold))
    True
"""

from __future__ import annotations

import torch


def gold_infonce_loss(student_scores: torch.Tensor, is_gold: torch.Tensor, mask: torch.Tensor | None = None,
                      inbatch_scores: torch.Tensor | None = None,
                      inbatch_mask: torch.Tensor | None = None) -> torch.Tensor:
    if mask is None:
        mask = torch.ones_like(is_gold)
    is_gold = is_gold & mask
    keep = is_gold.any(-1)
    if not keep.any():
        return student_scores.sum() * 0.0
    negatives = student_scores.masked_fill(~(mask & ~is_gold), float("-inf"))
    if inbatch_scores is not None:
        ib_mask = inbatch_mask if inbatch_mask is not None else torch.ones_like(inbatch_scores, dtype=torch.bool)
        negatives = torch.cat([negatives, inbatch_scores.masked_fill(~ib_mask, float("-inf"))], dim=-1)
    neg_lse = torch.logsumexp(negatives, dim=-1, keepdim=True)  # [B, 1]
    per_pos = torch.logaddexp(student_scores, neg_lse) - student_scores  # -log e^s+ / (e^s+ + sum neg)
    per_pos = per_pos.masked_fill(~is_gold, 0.0)
    per_query = per_pos.sum(-1) / is_gold.sum(-1).clamp_min(1)
    return per_query[keep].mean()
