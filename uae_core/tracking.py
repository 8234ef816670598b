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
