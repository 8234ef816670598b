"""KL distillation of the teacher's utility distribution into the student (REPLUG LSR / Atlas style).

Inputs, per query over its K candidates:
    student_scores  [B, K]  cos(E(q), E(d)) / tau_s
    utilities       [B, K]  teacher utility (log perplexity reduction)
    mask            [B, K]  True where a candidate exists (sets may be shorter than K)
Loss: mean over queries of KL(p || softmax(s)) with p = softmax(utility / tau_t).

Example:
    >>> import torch
    >>> s = torch.tensor([[5.0, 0.0]]); u = torch.tensor([[1.0, -1.0]])
    >>> bool(kl_distillation_loss(s, u, tau_t=0.3) < kl_distillation_loss(-s, u, tau_t=0.3))
    True
"""

from __future__ import annotations

import torch

NEG_INF = -1e4  # finite, so that 0 * NEG_INF stays 0


def teacher_distribution(utilities: torch.Tensor, tau_t: float, mask: torch.Tensor | None = None) -> torch.Tensor:
    logits = utilities / tau_t
    if mask is not None:
        logits = logits.masked_fill(~mask, NEG_INF)
    return torch.softmax(logits, dim=-1)


def kl_distillation_loss(student_scores: torch.Tensor, utilities: torch.Tensor, tau_t: float,
                         mask: torch.Tensor | None = None) -> torch.Tensor:
    if mask is not None:
        student_scores = student_scores.masked_fill(~mask, NEG_INF)
    p = teacher_distribution(utilities, tau_t, mask)
    log_q = torch.log_softmax(student_scores, dim=-1)
    log_p = torch.log(p.clamp_min(1e-12))
    return (p * (log_p - log_q)).sum(-1).mean()
