"""Resources: where things are stored (DuckDB labels, MLflow, files), the teacher LLM and the base student.

Everything defaults to the embedded, single-machine setup under data/ (see domains.data_dir()).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path

from dagster import ConfigurableResource
from pydantic import Field, create_model

from uae_assets.config import dataclass_fields, to_dataclass
from uae_assets.domains import data_dir
from uae_core.labeling.label_store import LabelStore
from uae_core.labeling.teacher import Teacher, TeacherConfig, load_teacher, teacher_id_for
from uae_core.retrieval.encoder import load_student
from uae_core.tracking.runs import configure
from uae_core.weights import DEFAULT_STUDENT, teacher_fingerprint


class Storage(ConfigurableResource):
    """Files the pipeline writes: indexes, reports, model and embedding caches."""

    root: str = Field(default="", description="Root folder; empty = $UAE_DATA_DIR or data/ in the repo.")

    def path(self, *parts: str) -> Path:
        """A path under the root; its parent folder exists."""
        p = self.inside(*parts)
        p.parent.mkdir(parents=True, exist_ok=True)
        return p

    def folder(self, *parts: str) -> Path:
        """A folder under the root, created if missing."""
        p = self.inside(*parts)
        p.mkdir(parents=True, exist_ok=True)
        return p

    def inside(self, *parts: str) -> Path:
        """root/parts, refused (ValueError naming the part) when a part is empty, absolute or holds `..`:
        parts come from domain names, versions and partition keys, which the UI or the API can set to
        anything (a dynamic partition `../../x` wrote outside the data folder). Checked on the parts, not by
        following symlinks, so a folder of the root that is a symlink the user made (a cache on another
        disk) keeps working."""
        root = Path(self.root or data_dir()).resolve()
        for part in parts:
            if not isinstance(part, str) or not part.strip() or Path(part).is_absolute() \
                    or ".." in Path(part).parts or "\0" in part:
                raise ValueError(f"storage path part {part!r} is not allowed: it must be a relative path inside "
                                 f"{root} without '..' (parts: {list(parts)})")
        p = root.joinpath(*parts)
        if not Path(os.path.normpath(p)).is_relative_to(root):  # cannot happen after the checks above
            raise ValueError(f"storage path {list(parts)} leads outside {root}")
        return p


class LabelStoreResource(ConfigurableResource):
    """The DuckDB file of utility labels. One process opens it at a time (the `duckdb` pool); labeling
    shards write Parquet chunks beside it instead."""

    path: str = Field(default="", description="DuckDB file; empty = <data dir>/labels.duckdb.")

    def db_path(self) -> Path:
        return Path(self.path or data_dir() / "labels.duckdb")

    def chunks_root(self) -> Path:
        """Where labeling shards write Parquet chunks until the merge stores them: beside the DuckDB file
        (labels.duckdb -> labels.shards/), so that each store has its own."""
        db = self.db_path()
        return db.with_name(f"{db.stem}.shards")

    def check(self) -> None:
        """A LabelStoreError naming the file when it exists but is not a DuckDB database (its header's magic
        bytes), without opening it (a run of another domain may hold it)."""
        from uae_core.labeling.label_store import LabelStoreError, unreadable

        db = self.db_path()
        if db.is_file() and db.stat().st_size > 0:
            with open(db, "rb") as fh:
                head = fh.read(12)
            if head[8:12] != b"DUCK":
                raise LabelStoreError(unreadable(db, ValueError("no DuckDB header")))

    @contextmanager
    def open(self, read_only: bool = False) -> Iterator[LabelStore]:
        with LabelStore.open(self.db_path(), read_only=read_only) as store:
            yield store


class MLflowResource(ConfigurableResource):
    """MLflow tracking and registry: an embedded sqlite store by default, or a tracking server's URI."""

    tracking_uri: str = Field(default="", description="Empty = $UAE_MLFLOW_TRACKING_URI (a server, "
                              "deploy/README.md), else sqlite:///<data dir>/mlflow/mlflow.db.")
    artifact_root: str = Field(default="", description="Empty = <data dir>/mlflow/artifacts; with an http(s) "
                               "tracking URI, the server's own artifact store.")

    ui_url: str = Field(default="", description="Where users open the MLflow UI (links in asset metadata); "
                        "empty = $UAE_MLFLOW_UI_URL, the tracking server, or http://127.0.0.1:5000 (`mlflow ui`).")

    def ui(self) -> str:
        uri = self.uri()
        server = uri if uri.startswith(("http://", "https://")) else ""
        return (self.ui_url or os.environ.get("UAE_MLFLOW_UI_URL") or server or "http://127.0.0.1:5000").rstrip("/")

    def run_link(self, experiment_id: str, run_id: str) -> str:
        return f"{self.ui()}/#/experiments/{experiment_id}/runs/{run_id}"

    def experiment_link(self, experiment_id: str) -> str:
        """The experiment's runs table. MLflow 3's UI opens experiments in its GenAI view unless the URL
        asks for the model-training one (`workflowType`); the experiment's kind tag does not override it."""
        return f"{self.ui()}/#/experiments/{experiment_id}/runs?workflowType=machine_learning"

    def version_link(self, model: str, version: str) -> str:
        return f"{self.ui()}/#/models/{model}/versions/{version}"

    def uri(self) -> str:
        return (self.tracking_uri or os.environ.get("UAE_MLFLOW_TRACKING_URI")
                or f"sqlite:///{data_dir() / 'mlflow' / 'mlflow.db'}")

    def client(self):
        uri = self.uri()
        if uri.startswith("sqlite:///"):
            Path(uri.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        return configure(uri)

    def artifacts(self) -> str | None:
        if self.artifact_root or not self.uri().startswith(("http://", "https://")):
            return self.artifact_root or str(data_dir() / "mlflow" / "artifacts")
        return None  # a server: its --artifacts-destination / --default-artifact-root, shared by every machine


class _TeacherResourceBase(ConfigurableResource):
    def teacher_config(self) -> TeacherConfig:
        return to_dataclass(self, TeacherConfig)

    def load(self) -> Teacher:
        """The teacher (shared within a process; the model itself loads on first use)."""
        device = self.device or os.environ.get("UAE_TEACHER_DEVICE") or "cpu"
        return _load_teacher(self.teacher_config(), self.cache_dir or str(data_dir() / "models"), device)

    def teardown_after_execution(self, context) -> None:
        """Close the teachers this process loaded (vLLM's engine process would outlive the run worker)."""
        close_teachers()

    def teacher_id(self) -> str:
        """Without loading the model (the sensor calls this every tick)."""
        config = self.teacher_config()
        return teacher_id_for(config, teacher_fingerprint(config.model))

    def config_json(self) -> str:
        return json.dumps(asdict(self.teacher_config()), sort_keys=True)


TeacherResource = create_model(
    "TeacherResource", __base__=_TeacherResourceBase, **dataclass_fields(TeacherConfig),
    device=(str, Field(default="", description="`cpu` or `cuda`; empty = $UAE_TEACHER_DEVICE, else `cpu` "
                                               "(the GPU labeling pod sets it, deploy/README.md).")),
    cache_dir=(str, Field(default="", description="Converted teacher weights; empty = <data dir>/models.")))
TeacherResource.__doc__ = "The teacher LLM and how it scores (uae_core TeacherConfig); see its fields."


class StudentResource(ConfigurableResource):
    """The base encoder that UAE fine-tunes (and the `base` system of the evaluation)."""

    model: str = Field(default=DEFAULT_STUDENT, description="packaged:all-MiniLM-L6-v2, a directory or a HF id.")
    max_seq_length: int = Field(default=256, description="Token budget per text.")

    def load(self):
        return load_student(self.model, self.max_seq_length)


_TEACHERS: dict[tuple[TeacherConfig, str, str], Teacher] = {}


def _load_teacher(config: TeacherConfig, cache_dir: str, device: str) -> Teacher:
    key = (config, cache_dir, device)
    if key not in _TEACHERS:
        _TEACHERS[key] = load_teacher(config, cache_dir=cache_dir, device=device)
    return _TEACHERS[key]


def close_teachers() -> None:
    while _TEACHERS:
        _TEACHERS.popitem()[1].close()
