"""MLflow runs: where tracking points, one experiment per domain, and a domain's runs side by side."""

from __future__ import annotations

import subprocess
from pathlib import Path

import mlflow
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from uae_core.tracking.registry import CHAMPION, model_name


def configure(tracking_uri: str) -> MlflowClient:
    mlflow.set_tracking_uri(tracking_uri)
    mlflow.set_registry_uri(tracking_uri)
    return MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)


def experiment_name(domain: str) -> str:
    return f"uae-{domain}"


def experiment_id(name: str, artifact_root: str | None) -> str:
    """The experiment's id, created (with its artifacts under `artifact_root`) if it does not exist."""
    exp = mlflow.get_experiment_by_name(name)
    if exp is not None:
        return exp.experiment_id
    location = None
    if artifact_root is not None:
        Path(artifact_root).mkdir(parents=True, exist_ok=True)
        location = Path(artifact_root).resolve().joinpath(name).as_uri()
    return mlflow.create_experiment(name, artifact_location=location)


def git_commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=True,
                              cwd=Path(__file__).parent).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


COMPARE_COLUMNS = ("dev_map", "test_uae_map", "test_base_map", "test_bm25_map", "test_uae_recall_at_1",
                   "test_base_recall_at_1")


def compare_runs(client: MlflowClient, domain: str, limit: int = 20) -> list[dict]:
    """A domain's training runs, newest first, with the tags and metrics that tell them apart."""
    exp = client.get_experiment_by_name(experiment_name(domain))
    if exp is None:
        return []
    try:
        champion = str(client.get_model_version_by_alias(model_name(domain), CHAMPION).version)
    except MlflowException:
        champion = None
    rows = []
    for run in client.search_runs([exp.experiment_id], order_by=["attributes.start_time DESC"], max_results=limit):
        tags, metrics, params = run.data.tags, run.data.metrics, run.data.params
        version = tags.get("model_version", "")
        rows.append({"run": run.info.run_id[:8], "version": version + (" *" if version == champion else ""),
                     "objective": params.get("objective", ""), "data": tags.get("data_version", "")[:8],
                     "teacher": tags.get("teacher_id", ""), "commit": tags.get("git_commit", "")[:7],
                     "train_q": params.get("train_queries", ""),
                     **{c: metrics.get(c) for c in COMPARE_COLUMNS}})
    return rows


def runs_table_markdown(rows: list[dict]) -> str:
    cols = list(rows[0])
    fmt = lambda v: "" if v is None else (f"{v:.4f}" if isinstance(v, float) else str(v))
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    lines += ["| " + " | ".join(fmt(r[c]) for c in cols) + " |" for r in rows]
    return "\n".join(lines) + "\n\n* = current champion"


def log_report(run_id: str, report: dict, split: str, paths: tuple[Path, Path]) -> None:
    """An evaluation report's metrics (`<split>_<system>_<metric>`) and files, into the training's run."""
    with mlflow.start_run(run_id=run_id):
        for system, values in report["systems"].items():
            mlflow.log_metrics({f"{split}_{system}_{m.replace('@', '_at_')}": values[m] for m in report["metrics"]})
        for path in paths:
            mlflow.log_artifact(str(path), artifact_path="eval")


def log_params(run_id: str, params: dict) -> None:
    """Parameters decided after training (e.g. the hybrid fusion), into the training's run."""
    with mlflow.start_run(run_id=run_id):
        mlflow.log_params(params)
