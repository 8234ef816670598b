"""Small helpers the assets share: the domain of a run, progress logging, registered model loading."""

from __future__ import annotations

import shutil
import time
from typing import Callable

from dagster import AssetExecutionContext, AutomationCondition, DynamicPartitionsDefinition

from uae_assets.domains import Domain, get_domain
from uae_assets.resources import Storage
from uae_core.encoder import load_student
from uae_core.tracking import download_version

# Domains come and go (domains.yaml, the watched folder): partitions are registered at run time.
domain_partitions = DynamicPartitionsDefinition(name="domain")

# Bring a partition up to date when it is missing or anything upstream (the domain file, the teacher, an
# upstream asset) changed; an unchanged world requests nothing.
eager = AutomationCondition.eager()


def domain_of(context: AssetExecutionContext) -> Domain:
    return get_domain(context.partition_key)


def progress_logger(context: AssetExecutionContext, what: str, every_seconds: float = 15.0
                    ) -> Callable[[int, int], None]:
    """A (done, total) callback that logs to the Dagster run at most every `every_seconds`."""
    last = [0.0]

    def log(done: int, total: int) -> None:
        now = time.monotonic()
        if done == total or now - last[0] >= every_seconds:
            last[0] = now
            context.log.info(f"{what}: {done}/{total} ({done / max(total, 1):.0%})")

    return log


def load_registered_student(model_uri: str, storage: Storage, max_seq_length: int):
    """Download a registered version once (data/models/registry/...) and load it."""
    target = storage.path("models", "registry", *model_uri.removeprefix("models:/").split("/"))
    if not (target / "modules.json").is_file():
        partial = target.parent / (target.name + ".partial")
        shutil.rmtree(partial, ignore_errors=True)
        download_version(model_uri, partial).rename(target)
    return load_student(str(target), max_seq_length=max_seq_length)
