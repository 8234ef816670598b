"""The Dagster code location: assets by role, resources, the pipeline job, the in-process executor."""

from __future__ import annotations

from dagster import AssetSelection, Definitions, define_asset_job, in_process_executor, load_assets_from_modules

from uae_assets.assets import corpus, evaluation, labels, model
from uae_assets.assets.common import domain_partitions
from uae_assets.resources import LabelStoreResource, MLflowResource, Storage, StudentResource, TeacherResource

all_assets = load_assets_from_modules([corpus, labels, model, evaluation])

uae_pipeline = define_asset_job("uae_pipeline", selection=AssetSelection.all(), partitions_def=domain_partitions,
                                description="Materialize the whole UAE chain for one domain.")

defs = Definitions(
    assets=all_assets,
    jobs=[uae_pipeline],
    resources={"teacher": TeacherResource(), "student": StudentResource(), "labels": LabelStoreResource(),
               "mlflow_store": MLflowResource(), "storage": Storage()},
    # One process: the models load once per step instead of once per subprocess, and the DuckDB and
    # MLflow-sqlite writers never run concurrently (the pools in dagster.yaml guard other executors).
    executor=in_process_executor,
)
