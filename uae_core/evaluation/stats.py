"""Paired bootstrap confidence intervals for a system's relative gain over a baseline on the same queries."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class GainInterval:
    gain: float  # mean(system) / mean(baseline) - 1 on the full sample
    low: float
    high: float
    level: float

    @property
    def excludes_zero(self) -> bool:
        return self.low > 0 or self.high < 0


def paired_bootstrap_gain(system: np.ndarray, baseline: np.ndarray, resamples: int = 2000, level: float = 0.95,
                          seed: int = 0) -> GainInterval:
    """Resample queries with replacement (the same indices for both systems) and take percentiles of the
    relative gain of the means. Resamples where the baseline mean is 0 are dropped."""
    system, baseline = np.asarray(system, float), np.asarray(baseline, float)
    if system.shape != baseline.shape or system.ndim != 1 or len(system) == 0:
        raise ValueError("system and baseline need the same, non-empty, per-query shape")
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(system), size=(resamples, len(system)))
    s, b = system[idx].mean(axis=1), baseline[idx].mean(axis=1)
    ok = b > 0
    gains = s[ok] / b[ok] - 1.0
    alpha = (1 - level) / 2
    full = system.mean() / baseline.mean() - 1.0 if baseline.mean() > 0 else float("nan")
    return GainInterval(float(full), float(np.quantile(gains, alpha)), float(np.quantile(gains, 1 - alpha)), level)


def paired_bootstrap_difference(system: np.ndarray, baseline: np.ndarray, resamples: int = 2000,
                                level: float = 0.95, seed: int = 0) -> tuple[float, float, float]:
    """mean(system) - mean(baseline) and its paired bootstrap interval (low, high), resampling queries: for
    "within 1 point of" targets, where a relative gain is the wrong scale."""
    system, baseline = np.asarray(system, float), np.asarray(baseline, float)
    if system.shape != baseline.shape or system.ndim != 1 or len(system) == 0:
        raise ValueError("system and baseline need the same, non-empty, per-query shape")
    diff = system - baseline
    idx = np.random.default_rng(seed).integers(0, len(diff), size=(resamples, len(diff)))
    means, alpha = diff[idx].mean(axis=1), (1 - level) / 2
    return float(diff.mean()), float(np.quantile(means, alpha)), float(np.quantile(means, 1 - alpha))


def gain_interval(system: np.ndarray, baseline: np.ndarray) -> GainInterval | None:
    """The paired bootstrap 95 % interval of the relative gain, None when the baseline scores 0."""
    if np.asarray(baseline, float).mean() <= 0:
        return None
    return paired_bootstrap_gain(system, baseline)
