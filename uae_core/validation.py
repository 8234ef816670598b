"""Config values checked where they are defined (each config dataclass's __post_init__), so a bad value
stops a run when it is configured, with the field named, instead of after hours of labeling."""

from __future__ import annotations

from collections.abc import Iterable


class ConfigError(ValueError):
    """A config value is out of range; the message names the config and the field."""


def require(ok: bool, owner: str, field: str, problem: str) -> None:
    if not ok:
        raise ConfigError(f"{owner}.{field}: {problem}")


def require_choice(value: object, choices: Iterable, owner: str, field: str) -> None:
    choices = tuple(choices)
    require(value in choices, owner, field, f"{value!r} is not one of {list(choices)}")


def require_finite(config: object, owner: str) -> None:
    """Every number of a config dataclass (and of its list or tuple fields) is finite: YAML's `.nan` and `.inf`
    pass every range check written as `x > 0` or are refused by none (`margin: .nan`), and a NaN setting
    trains a NaN model."""
    import dataclasses
    import math

    for f in dataclasses.fields(config):  # type: ignore[arg-type]
        value = getattr(config, f.name)
        values = value if isinstance(value, (list, tuple)) else [value]
        for v in values:
            if isinstance(v, float) and not math.isfinite(v):
                raise ConfigError(f"{owner}.{f.name}: must be a finite number, got {value!r}")
