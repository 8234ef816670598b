"""MLflow bookkeeping: one experiment per domain, the student as safetensors artifacts, a registered model
version per training run, and the `champion` alias that moves only when a new version beats it on dev."""

from __future__ import annotations

import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import mlflow
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

CHAMPION = "champion"


def configure(tracking_uri: str, artifact_root: str | None = None) -> MlflowClient:
    mlflow.set_tracking_uri(tracking_uri)
    mlflow.set_registry_uri(tracking_uri)
    return MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)


def experiment_id(domain: str, artifact_root: str | None) -> str:
    name = f"uae-{domain}"
    exp = mlflow.get_experiment_by_name(name)
    if exp is not None:
        return exp.experiment_id
    location = None
    if artifact_root is not None:
        Path(artifact_root).mkdir(parents=True, exist_ok=True)
        location = Path(artifact_root).resolve().joinpath(name).as_uri()
    return mlflow.create_experiment(name, artifact_location=location)


def model_name(domain: str) -> str:
    return f"uae-encoder-{domain}"


def git_commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=True,
                              cwd=Path(__file__).parent).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def log_student(model, artifact_path: str = "model") -> None:
    """Save the sentence-transformers model (safetensors) into the active run's artifacts."""
    with tempfile.TemporaryDirectory() as tmp:
        model.save(tmp, safe_serialization=True)
        mlflow.log_artifacts(tmp, artifact_path=artifact_path)


def register_version(client: MlflowClient, domain: str, run_id: str, artifact_path: str = "model",
                     tags: dict[str, str] | None = None) -> str:
    name = model_name(domain)
    try:
        client.create_registered_model(name, description=f"UAE student encoder for domain {domain}")
    except MlflowException:
        pass  # already registered
    source = f"{mlflow.get_run(run_id).info.artifact_uri}/{artifact_path}"
    mv = client.create_model_version(name, source=source, run_id=run_id, tags=tags or {})
    return str(mv.version)


def find_version(client: MlflowClient, domain: str, tag: str, value: str):
    """The newest registered version of the domain's model whose tag `tag` equals `value`, or None."""
    try:
        versions = client.search_model_versions(f"name = '{model_name(domain)}'")
    except MlflowException:
        return None
    matches = [v for v in versions if v.tags.get(tag) == value]
    return max(matches, key=lambda v: int(v.version), default=None)


@dataclass(frozen=True)
class PromotionDecision:
    promoted: bool
    version: str
    score: float
    champion_version: str | None
    champion_score: float | None
    metric: str

    def describe(self) -> str:
        if self.champion_version is None:
            return f"v{self.version} is the first version: champion ({self.metric}={self.score:.4f})"
        verdict = "beats" if self.promoted else "does not beat"
        return (f"v{self.version} ({self.metric}={self.score:.4f}) {verdict} champion v{self.champion_version} "
                f"({self.metric}={self.champion_score:.4f})")


def promote_if_better(client: MlflowClient, domain: str, version: str, metric: str, score: float
                      ) -> PromotionDecision:
    """Move `champion` to `version` if it has no champion or strictly beats it on `metric` (a dev score
    stored as a version tag `dev_<metric>`)."""
    name = model_name(domain)
    client.set_model_version_tag(name, version, f"dev_{metric}", str(score))
    try:
        champ = client.get_model_version_by_alias(name, CHAMPION)
    except MlflowException:
        champ = None
    champ_version = None if champ is None else str(champ.version)  # MLflow returns int versions
    champ_score = None
    if champ is not None and champ_version != version:
        champ_score = float(champ.tags.get(f"dev_{metric}", "-inf"))
    promoted = champ is None or champ_version == version or score > champ_score
    if promoted:
        client.set_registered_model_alias(name, CHAMPION, version)
    previous = None if champ_version == version else champ_version
    return PromotionDecision(promoted, version, score, previous, champ_score, metric)


def download_version(version_uri: str, dst: str | Path) -> Path:
    """`models:/name/3` or `models:/name@champion` -> local directory with the student."""
    return Path(mlflow.artifacts.download_artifacts(artifact_uri=version_uri, dst_path=str(dst)))


COMPARE_COLUMNS = ("dev_map", "test_uae_map", "test_base_map", "test_bm25_map", "test_uae_recall_at_1",
                   "test_base_recall_at_1")


def compare_runs(client: MlflowClient, domain: str, limit: int = 20) -> list[dict]:
    """A domain's training runs, newest first, with the tags and metrics that tell them apart."""
    exp = client.get_experiment_by_name(f"uae-{domain}")
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
