"""The Dagster code location: assets by role, resources, jobs, sensors and schedules, and the executor."""

import os

from dagster import Definitions, in_process_executor, load_assets_from_modules, multiprocess_executor

from uae_assets.assets import candidate_sets, corpus, eval_report, faiss_index, sources, uae_encoder, utility_labels
from uae_assets.jobs import evaluate_encoder_job, uae_pipeline
from uae_assets.resources import LabelStoreResource, MLflowResource, Storage, StudentResource, TeacherResource
from uae_assets.schedules import redistill_schedule
from uae_assets.sensors import automation_sensor, domain_sensor


def _executor():
    """$UAE_EXECUTOR: `in_process` (default), `multiprocess`, or `k8s` (one pod per step, deploy/README.md)."""
    name = os.environ.get("UAE_EXECUTOR", "in_process")
    if name == "k8s":
        from dagster_k8s import k8s_job_executor  # the `deploy` extra

        return k8s_job_executor
    executors = {"in_process": in_process_executor, "multiprocess": multiprocess_executor}
    if name not in executors:
        raise ValueError(f"UAE_EXECUTOR={name!r}: expected in_process, multiprocess or k8s")
    return executors[name]


defs = Definitions(
    assets=load_assets_from_modules([sources, corpus, candidate_sets, utility_labels, uae_encoder, faiss_index,
                                     eval_report]),
    jobs=[uae_pipeline, evaluate_encoder_job],
    sensors=[domain_sensor, automation_sensor],
    schedules=[redistill_schedule],
    resources={"teacher": TeacherResource(), "student": StudentResource(), "labels": LabelStoreResource(),
               "mlflow_store": MLflowResource(), "storage": Storage()},
    # One process: the models load once per step instead of once per subprocess, and the DuckDB and
    # MLflow-sqlite writers never run concurrently (the pools in dagster.yaml guard other executors).
    executor=_executor(),
)
