"""The Dagster code location: assets by role, resources, jobs, sensors and schedules, and the executor."""

from dagster import Definitions, in_process_executor, load_assets_from_modules

from uae_assets.assets import candidate_sets, corpus, eval_report, faiss_index, sources, uae_encoder, utility_labels
from uae_assets.jobs import evaluate_encoder_job, uae_pipeline
from uae_assets.resources import LabelStoreResource, MLflowResource, Storage, StudentResource, TeacherResource
from uae_assets.schedules import redistill_schedule
from uae_assets.sensors import automation_sensor, domain_sensor

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
    executor=in_process_executor,
)
