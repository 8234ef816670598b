"""The learning-rate schedule every training here uses: linear warm-up, then linear decay to zero."""

from __future__ import annotations

import torch


def warmup_then_decay(optimizer: torch.optim.Optimizer, total_steps: int,
                      warmup_fraction: float) -> torch.optim.lr_scheduler.LambdaLR:
    """Step s of `total_steps`: (s + 1) / warmup while warming up (at least one step), then a straight line to 0."""
    warmup = max(1, int(total_steps * warmup_fraction))
    return torch.optim.lr_scheduler.LambdaLR(
        optimizer,
        lambda s: (s + 1) / warmup if s < warmup else max(0.0, (total_steps - s) / max(1, total_steps - warmup)))
