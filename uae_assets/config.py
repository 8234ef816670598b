"""Dagster run config made from uae_core's dataclasses, so that each knob and its default live in one place."""

import dataclasses
import typing

from dagster import Config
from pydantic import create_model


def config_from_dataclass(name: str, source: type, doc: str, **extra: tuple[type, typing.Any]) -> type[Config]:
    """A Dagster `Config` class with the fields and defaults of dataclass `source`, plus `extra` fields."""
    hints = typing.get_type_hints(source)
    fields = {f.name: (hints[f.name], f.default) for f in dataclasses.fields(source)}
    model = create_model(name, __base__=Config, **fields, **extra)
    model.__doc__ = doc
    return model
