"""Weight-space ensembling of the trained student with its base encoder (WiSE-FT), the share chosen on dev.

A short distillation on a few hundred questions can overwrite what the base encoder knew. Moving the trained
weights a share s of the way back to the base keeps part of it: weights = (1 - s) * trained + s * base. The
best s is a property of the domain: on qasper dev chose 0.5 in each of 3 seeds (and test agreed), on covidqa
dev chose 0 (and test agreed; docs/weight_merge*.md). So the pipeline scores each candidate share on the
domain's dev split and keeps the best: on a pool of passages (evaluation.screen), then the kept share on the
whole corpus, so one corpus encode whatever the number of shares.

Example:
    train, choice = train_and_merge(model, examples, config,
                                    evaluate_dev=lambda m: {"success@1": 0.2, "map": 0.3})
    choice.share, choice.dev_metrics   # the kept share (model now holds its weights) and its dev metrics
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import torch

from uae_core.training.trainer import TrainConfig, TrainResult, train_student

Weights = dict[str, torch.Tensor]


def snapshot(model: torch.nn.Module) -> Weights:
    """A detached copy of the model's weights (to merge back toward, or to restore)."""
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


@torch.no_grad()
def merge_weights(model: torch.nn.Module, base_weights: Weights, share: float) -> None:
    """model <- (1 - share) * model + share * base, for every floating-point tensor (WiSE-FT)."""
    for name, tensor in model.state_dict().items():
        if tensor.is_floating_point():
            tensor.mul_(1 - share).add_(base_weights[name].to(tensor.device), alpha=share)


def dev_score(metrics: Mapping[str, float]) -> float | None:
    """What chooses the share: the mean of Recall@1 and MAP (the rule that also tunes the hybrid's fusion);
    None when the dev split had no question with gold."""
    if "success@1" not in metrics or "map" not in metrics:
        return None
    return (metrics["success@1"] + metrics["map"]) / 2


def best_share(scores: Mapping[float, float | None], shares: Sequence[float]) -> float:
    """The share with the highest dev score; ties, and a dev split without scores, keep the earliest listed."""
    scored = [s for s in shares if scores.get(s) is not None and not math.isnan(scores[s])]
    if not scored:
        return shares[0]
    return max(scored, key=lambda s: (scores[s], -shares.index(s)))


@dataclass
class MergeChoice:
    share: float
    dev_metrics: dict[str, float] = field(default_factory=dict)  # the kept share's ({} without a dev split)
    scores: dict[float, float | None] = field(default_factory=dict)  # dev score of every share tried
    screened: bool = False  # the shares were scored by `screen` (a pool of passages), the kept one by evaluate_dev


def choose_merge(model: torch.nn.Module, base_weights: Weights, shares: Sequence[float],
                 evaluate_dev: Callable[[torch.nn.Module], dict[str, float]] | None,
                 screen: Callable[[torch.nn.Module], dict[str, float]] | None = None) -> MergeChoice:
    """Score each share's merged weights and leave `model` holding the best one. The shares are scored by
    `screen` where given (cheaper: evaluation.screen's pool of passages), and the kept one then by
    `evaluate_dev`; otherwise each by `evaluate_dev`.

    One share, or no `evaluate_dev`: that (first) share is applied and nothing extra is scored."""
    if len(shares) == 1 or evaluate_dev is None:
        if shares[0]:
            merge_weights(model, base_weights, shares[0])
        return MergeChoice(shares[0], evaluate_dev(model) if evaluate_dev else {})
    trained = snapshot(model)
    metrics: dict[float, dict[str, float]] = {}
    for share in shares:
        model.load_state_dict(trained)
        merge_weights(model, base_weights, share)
        metrics[share] = (screen or evaluate_dev)(model)
    scores = {s: dev_score(m) for s, m in metrics.items()}
    chosen = best_share(scores, shares)
    model.load_state_dict(trained)
    merge_weights(model, base_weights, chosen)
    return MergeChoice(chosen, evaluate_dev(model) if screen else metrics[chosen], scores, screen is not None)


def train_and_merge(model: torch.nn.Module, examples: Sequence, config: TrainConfig,
                    evaluate_dev: Callable[[torch.nn.Module], dict[str, float]] | None,
                    screen: Callable[[torch.nn.Module], dict[str, float]] | None = None,
                    **train_kwargs) -> tuple[TrainResult, MergeChoice]:
    """The pipeline's training step: train_student, then choose_merge over `config.merge_shares` (distill and
    bench/results.py both call this, so the benchmark's students are the ones `uae_encoder` would register)."""
    base_weights = snapshot(model) if any(config.merge_shares) else {}
    result = train_student(model, examples, config, **train_kwargs)
    return result, choose_merge(model, base_weights, config.merge_shares, evaluate_dev, screen)
