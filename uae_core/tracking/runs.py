"""MLflow runs: where tracking points, one experiment per domain, and a domain's runs side by side."""

from __future__ import annotations

import logging
import subprocess
from pathlib import Path

import mlflow
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from uae_core.tracking.registry import CHAMPION, model_name


def configure(tracking_uri: str) -> MlflowClient:
    # A new store's "Creating initial MLflow database tables..." / "Updating database tables" lines (INFO)
    # say nothing a user acts on; its warnings and errors still show (a level already set higher is kept: the
    # CLI silences it while it closes a run on a full disk).
    store_log = logging.getLogger("mlflow.store.db.utils")
    if store_log.level < logging.WARNING:
        store_log.setLevel(logging.WARNING)
    mlflow.set_tracking_uri(tracking_uri)
    mlflow.set_registry_uri(tracking_uri)
    return MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)


def experiment_name(domain: str) -> str:
    return f"uae-{domain}"


# MLflow 3's UI opens an experiment in its model-training view (runs, metrics, models) with this kind;
# without it, it guesses and can open the GenAI view (traces).
EXPERIMENT_KIND = {"mlflow.experimentKind": "custom_model_development"}


def experiment_id(name: str, artifact_root: str | None) -> str:
    """The experiment's id, created (with its artifacts under `artifact_root`) if it does not exist."""
    exp = mlflow.get_experiment_by_name(name)
    if exp is not None:
        if exp.tags.get("mlflow.experimentKind") is None:
            mlflow.MlflowClient().set_experiment_tag(exp.experiment_id, *next(iter(EXPERIMENT_KIND.items())))
        return exp.experiment_id
    location = None
    if artifact_root is not None:
        Path(artifact_root).mkdir(parents=True, exist_ok=True)
        location = Path(artifact_root).resolve().joinpath(name).as_uri()
    return mlflow.create_experiment(name, artifact_location=location, tags=EXPERIMENT_KIND)


def log_dataset(name: str, source: str, digest: str, context: str = "training") -> None:
    """The domain's source as the active run's dataset input (name, where it is, its data version)."""
    import warnings

    from mlflow.data.dataset_source_registry import resolve_dataset_source
    from mlflow.data.meta_dataset import MetaDataset

    with warnings.catch_warnings():  # a local path matches MLflow's local-artifact source twice: nothing to act on
        warnings.filterwarnings("ignore", message="The specified dataset source can be interpreted in multiple ways")
        dataset_source = resolve_dataset_source(source)
    mlflow.log_input(MetaDataset(dataset_source, name=name, digest=digest[:16]), context=context)


def git_commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=True,
                              cwd=Path(__file__).parent).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


COMPARE_COLUMNS = ("dev_map", "test_uae_success_at_1", "test_uae_map", "test_hybrid_map", "test_base_map",
                   "test_bm25_map")


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


def log_report(run_id: str, report: dict, split: str, paths: tuple[Path, Path]) -> bool:
    """An evaluation report into the training's run: metrics `<split>_<system>_<metric>`, the report files,
    a side-by-side table and a gains figure. A report already logged there with the same numbers (a re-run
    with a reused model) is not logged again, so the run is not reopened. Returns whether it logged."""
    metrics = {f"{split}_{system}_{m.replace('@', '_at_')}": values[m]
               for system, values in report["systems"].items() for m in report["metrics"]}
    client = mlflow.MlflowClient()
    logged = client.get_run(run_id).data.metrics
    if metrics and all(k in logged and abs(logged[k] - v) < 1e-9 for k, v in metrics.items()):
        return False
    from uae_core.evaluation.figures import gains_figure, metrics_table

    with mlflow.start_run(run_id=run_id):
        mlflow.log_metrics(metrics)
        for path in paths:
            mlflow.log_artifact(str(path), artifact_path="eval")
        mlflow.log_table(metrics_table(report), artifact_file=f"eval/{split}_metrics_table.json")
        figure = gains_figure(report, f"{split} split: gain over the base encoder")
        if figure is not None:
            mlflow.log_figure(figure, f"eval/{split}_gains.png")
    return True


def log_decided(run_id: str, values: dict) -> None:
    """Settings decided after training (the hybrid fusion), as tags of the training's run: a later decision
    (the fusion re-tuned when the index is rebuilt) replaces the earlier one, where MLflow refuses to change
    a logged parameter."""
    with mlflow.start_run(run_id=run_id):
        mlflow.set_tags({name: str(value) for name, value in values.items()})
