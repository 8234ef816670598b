"""What the assets share: the domain partitions, the automation condition, the domain of a run, progress
logging, and loading a registered student."""

from __future__ import annotations

import os
import time
from collections.abc import Callable

from dagster import AssetExecutionContext, AutomationCondition, Config, DynamicPartitionsDefinition, MetadataValue

from uae_assets.domain_config import apply_domain_settings
from uae_assets.domains import Domain, get_domain
from uae_assets.resources import MLflowResource, Storage
from uae_core.retrieval.encoder import load_student
from uae_core.tracking.registry import RegisteredEncoder, local_copy

# Domains come and go (domains.yaml, the watched folder): partitions are registered at run time.
domain_partitions = DynamicPartitionsDefinition(name="domain")

# Bring a partition up to date when it is missing or anything upstream (the domain file, the teacher, an
# upstream asset) changed; an unchanged world requests nothing.
eager = AutomationCondition.eager()


def domain_of(context: AssetExecutionContext) -> Domain:
    return get_domain(context.partition_key)


def with_domain_settings(context: AssetExecutionContext, config: Config, op: str) -> tuple[Config, dict]:
    """(the asset's config with its domain's settings in the fields this run left unset, metadata naming
    the domain's settings in effect). See uae_assets/domain_config.py."""
    domain = domain_of(context)
    config, in_effect = apply_domain_settings(config, op, domain, context.run_config)
    if not in_effect:
        return config, {}
    context.log.info(f"{op}: the domain's settings ({domain.run_config_source}): {in_effect}")
    return config, {"domain_settings": MetadataValue.json(in_effect)}


def progress_logger(context: AssetExecutionContext, what: str, every_seconds: float | None = None
                    ) -> Callable[[int, int], None]:
    """A (done, total) callback that logs to the Dagster run at most every `every_seconds` (default
    $UAE_PROGRESS_SECONDS or 15), with the rate and the time left:
    `utility labels: 352/1600 (22%), 2.10/s, 9m55s left`."""
    every_seconds = every_seconds if every_seconds is not None else float(os.environ.get("UAE_PROGRESS_SECONDS", 15))
    started, last = time.monotonic(), [0.0]

    def log(done: int, total: int) -> None:
        now = time.monotonic()
        if done == total or now - last[0] >= every_seconds:
            last[0] = now
            rate = done / max(now - started, 1e-9)
            left = (total - done) / rate if rate > 0 else float("inf")
            eta = f"{int(left // 60)}m{int(left % 60):02d}s left" if left != float("inf") else "time left unknown"
            context.log.info(f"{what}: {done}/{total} ({done / max(total, 1):.0%}), {rate:.2f}/s, {eta}")

    return log


def load_registered(encoder: RegisteredEncoder, mlflow_store: MLflowResource, storage: Storage):
    """The registered version's student, downloaded once under <data dir>/models/registry."""
    mlflow_store.client()
    return load_student(str(local_copy(encoder.model_uri, storage.folder("models", "registry"))),
                        encoder.max_seq_length)
