"""What the assets share: the domain partitions, the automation condition, the domain of a run, progress
logging, and loading a registered student."""

from __future__ import annotations

from collections.abc import Callable

from dagster import AssetExecutionContext, AutomationCondition, Config, DynamicPartitionsDefinition, MetadataValue

from uae_assets.domain_config import apply_domain_settings
from uae_assets.domains import Domain, get_domain
from uae_assets.resources import MLflowResource, Storage
from uae_core.progress import Progress
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
    $UAE_PROGRESS_SECONDS or 10), with the rate and the time left from the first report on:
    `utility labels: 352/1600 (22%), 2.10/s, 9m55s left` (uae_core.progress.Progress)."""
    return Progress(what, context.log.info, every_seconds)


def load_registered(encoder: RegisteredEncoder, mlflow_store: MLflowResource, storage: Storage):
    """The registered version's student, downloaded once under <data dir>/models/registry."""
    mlflow_store.client()
    return load_student(str(local_copy(encoder.model_uri, storage.folder("models", "registry"))),
                        encoder.max_seq_length)
