"""Dagster config and resources made from uae_core's dataclasses, so that each knob, its type (Literal
choices show as a pick list in the launchpad), its default and its description live in one place: the
dataclass and its docstring's `Attributes:` section."""

from __future__ import annotations

import dataclasses
import inspect
import re
import typing

from dagster import Config
from pydantic import Field, create_model


def attribute_docs(cls: type) -> dict[str, str]:
    """`name: text` entries of a Google-style `Attributes:` section (continuation lines joined)."""
    doc = inspect.getdoc(cls) or ""
    section = doc.split("Attributes:", 1)[1] if "Attributes:" in doc else ""
    docs: dict[str, str] = {}
    name = None
    for line in section.splitlines():
        match = re.match(r"^    (\w+): (.*)$", line)
        if match:
            name, docs[match.group(1)] = match.group(1), match.group(2).strip()
        elif name and line.startswith("        "):
            docs[name] += " " + line.strip()
        elif line.strip() and not line.startswith(" "):
            break
    return docs


def dataclass_fields(source: type, exclude: tuple[str, ...] = ()) -> dict[str, tuple[type, typing.Any]]:
    """pydantic field definitions (type, Field(default, description)) for every field of `source`."""
    hints, docs = typing.get_type_hints(source), attribute_docs(source)
    out = {}
    for f in dataclasses.fields(source):
        if f.name in exclude:
            continue
        default = f.default_factory() if f.default is dataclasses.MISSING else f.default  # type: ignore[misc]
        if isinstance(default, tuple):
            default = list(default)
        out[f.name] = (_dagster_type(hints[f.name]), Field(default=default, description=docs.get(f.name)))
    return out


def _dagster_type(hint):
    """Dagster config takes Literal (a pick list) but not a list of Literals: those become list[str]; nor
    tuples: tuple[X, ...] becomes list[X] (the core dataclass still validates the values)."""
    if typing.get_origin(hint) is list and typing.get_origin(typing.get_args(hint)[0]) is typing.Literal:
        return list[str]
    if typing.get_origin(hint) is tuple:
        return list[typing.get_args(hint)[0]]
    return hint


def config_from_dataclass(name: str, source: type, doc: str | None = None,
                          **extra: tuple[type, typing.Any]) -> type[Config]:
    """A Dagster `Config` class with the fields, defaults and descriptions of dataclass `source`, plus
    `extra` fields (name=(type, Field(...)))."""
    model = create_model(name, __base__=Config, **dataclass_fields(source), **extra)
    model.__doc__ = doc or (inspect.getdoc(source) or "").split("\n\n")[0]
    return model


def to_dataclass(config: Config, target: type, **overrides):
    """The core dataclass from a Config made by config_from_dataclass (extra fields dropped)."""
    names = {f.name for f in dataclasses.fields(target)}
    values = {k: v for k, v in config.model_dump().items() if k in names}
    return target(**{**values, **overrides})
