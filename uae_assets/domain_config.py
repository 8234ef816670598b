"""A domain's own settings (`run_config:` of its entry in domains.yaml): the run config its runs start
from, whoever launches them. Training settings are a property of the domain (on the same labels covidqa's
students gain far more with the design's settings than with the gentler ones qasper prefers:
docs/covidqa_own_settings/results.md), so a scheduled re-distillation must not fall back to the code defaults.

Precedence, field by field: the run's own config (`uae materialize --config`, the launchpad), then the
domain's run_config, then the code defaults. Where it is applied:
- `uae materialize` merges it under the --config file before checking and launching the run;
- the uae_pipeline job's PartitionedConfig fills the launchpad and the re-distill schedule's runs with it;
- each asset applies it to the fields its run did not set (declarative automation and the asset graph's
  Materialize button launch runs with no config at all) and records which fields came from the domain.
"""

from __future__ import annotations

from dagster import Config

from uae_assets.domains import Domain, DomainError, get_domain


def domain_settings(domain: Domain) -> dict:
    """The domain's run_config with every value checked the way the assets will read it (a bad one stops
    here with the file, domain, asset and field named, not hours into a run)."""
    from uae_assets.run_config import config_problem

    for op, entry in (domain.run_config.get("ops") or {}).items():
        problem = config_problem(op, entry["config"])
        if problem:
            raise DomainError(f"{domain.run_config_source}, run_config ops.{op}.config: {problem}")
    return domain.run_config


def merge_under(run_config: dict, domain: Domain) -> dict:
    """`run_config` with the domain's settings filling the fields it does not set: the one precedence rule
    (uae materialize merges the --config file this way, each asset its run's config)."""
    pinned = domain_settings(domain).get("ops") or {}
    ops = {op: {**entry, "config": {**domain.pinned(op), **(entry.get("config") or {})}}
           for op, entry in (run_config.get("ops") or {}).items()}
    for op in pinned:
        ops.setdefault(op, {"config": domain.pinned(op)})
    return {**run_config, "ops": ops} if ops else dict(run_config)


def partition_run_config(partition_key: str) -> dict:
    """The uae_pipeline job's run config for a domain partition (the launchpad's and the schedule's)."""
    try:
        domain = get_domain(partition_key)
    except DomainError:  # a partition whose domain was removed: its run fails at its first step anyway
        return {}
    return domain_settings(domain)


def apply_domain_settings(config: Config, op: str, domain: Domain, run_config: dict) -> tuple[Config, dict]:
    """(the asset's config with the domain's settings in the fields its run left unset, the domain's
    settings in effect). A run launched through the job already carries them: nothing left to fill."""
    pinned = domain.pinned(op)
    if not pinned:
        return config, {}
    config = type(config)(**{**config.model_dump(), **merge_under(run_config, domain)["ops"][op]["config"]})
    values = config.model_dump()
    return config, {k: v for k, v in pinned.items() if values.get(k) == v}
