"""Resources: where things are stored (DuckDB labels, MLflow, files) and the teacher LLM.

Everything defaults to the embedded, single-machine setup under data/ (see domains.data_dir()).
"""

from __future__ import annotations

import json
from contextlib import contextmanager
from dataclasses import asdict
from functools import lru_cache
from pathlib import Path
from typing import Iterator

from dagster import ConfigurableResource

from uae_core import tracking
from uae_core.label_store import LabelStore
from uae_core.models import DEFAULT_STUDENT, DEFAULT_TEACHER, teacher_fingerprint
from uae_core.teacher import Teacher, TeacherConfig, teacher_id_for
from uae_assets.domains import data_dir


class Storage(ConfigurableResource):
    """Files the pipeline writes: indexes, reports, model and embedding caches."""

    root: str = ""

    def path(self, *parts: str) -> Path:
        p = Path(self.root or data_dir()).joinpath(*parts)
        p.parent.mkdir(parents=True, exist_ok=True)
        return p


class LabelStoreResource(ConfigurableResource):
    """The DuckDB file of utility labels. One writing process at a time (see the `duckdb` pool)."""

    path: str = ""

    def db_path(self) -> Path:
        return Path(self.path or data_dir() / "labels.duckdb")

    @contextmanager
    def open(self, read_only: bool = False) -> Iterator[LabelStore]:
        with LabelStore.open(self.db_path(), read_only=read_only) as store:
            yield store


class MLflowResource(ConfigurableResource):
    tracking_uri: str = ""
    artifact_root: str = ""

    def client(self):
        uri = self.tracking_uri or f"sqlite:///{data_dir() / 'mlflow' / 'mlflow.db'}"
        if uri.startswith("sqlite:///"):
            Path(uri.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        return tracking.configure(uri)

    def artifacts(self) -> str:
        return self.artifact_root or str(data_dir() / "mlflow" / "artifacts")


class TeacherResource(ConfigurableResource):
    """The teacher LLM and how it scores. Any field here changes the teacher_id, hence the labels."""

    model: str = DEFAULT_TEACHER
    prompt_with_context: str = TeacherConfig.prompt_with_context
    prompt_without_context: str = TeacherConfig.prompt_without_context
    max_passage_tokens: int = 256
    max_question_tokens: int = 64
    max_answer_tokens: int = 64
    add_bos: bool = False
    answer_policy: str = "first"
    batch_size: int = 8
    dtype: str = "float32"
    device: str = "cpu"
    cache_dir: str = ""

    def teacher_config(self) -> TeacherConfig:
        return TeacherConfig(**{k: getattr(self, k) for k in TeacherConfig.__dataclass_fields__})

    def load(self) -> Teacher:
        return _load_teacher(self.teacher_config(), self.cache_dir or str(data_dir() / "models"), self.device)

    def teacher_id(self) -> str:
        """Without loading the model (the sensor calls this every tick)."""
        return teacher_id_for(self.teacher_config(), teacher_fingerprint(self.model))

    def config_json(self) -> str:
        return json.dumps(asdict(self.teacher_config()), sort_keys=True)


class StudentResource(ConfigurableResource):
    """The base encoder that UAE fine-tunes (and the `base` system of the evaluation)."""

    model: str = DEFAULT_STUDENT
    max_seq_length: int = 256


@lru_cache(maxsize=2)
def _load_teacher(config: TeacherConfig, cache_dir: str, device: str) -> Teacher:
    return Teacher(config, cache_dir=cache_dir, device=device)
