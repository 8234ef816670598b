"""Shared fixtures: tiny randomly initialised models and a temporary JSON writer (helpers.py has the rest)."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import pytest


def pytest_collection_modifyitems(items):
    """Every `integration` test is `slow` too: `pytest -m "not slow"` (the quick run while working) leaves it
    out. The other slow tests carry the mark themselves (`pytestmark` or `@pytest.mark.slow`)."""
    for item in items:
        if item.get_closest_marker("integration"):
            item.add_marker(pytest.mark.slow)


@pytest.fixture
def write_json(tmp_path):
    def write(obj, name: str = "corpus.json") -> Path:
        path = tmp_path / name
        path.write_text(json.dumps(obj))
        return path
    return write


@pytest.fixture(scope="session")
def minilm_dir() -> Path:
    from uae_core.weights import DEFAULT_STUDENT, packaged_location
    return packaged_location(DEFAULT_STUDENT)[0]


@pytest.fixture(scope="session")
def tiny_student_dir(tmp_path_factory) -> Path:
    """A 2-layer, 32-wide BERT with random weights and MiniLM's tokenizer, as a sentence-transformers dir."""
    from tests.helpers import build_tiny_student

    return build_tiny_student(tmp_path_factory.mktemp("tiny_student"))


@pytest.fixture(scope="session")
def tiny_teacher_dir(tmp_path_factory) -> Path:
    """A 2-layer Llama with random weights (and MiniLM's tokenizer): a real causal LM, seconds to run."""
    from tests.helpers import build_tiny_teacher

    return build_tiny_teacher(tmp_path_factory.mktemp("tiny_teacher"))


@pytest.fixture
def global_mlflow_uri_restored():
    """uae_core.tracking.runs.configure sets MLflow's process-wide URIs (and MLFLOW_TRACKING_URI): undo it."""
    import mlflow

    before = os.environ.get("MLFLOW_TRACKING_URI")
    yield
    mlflow.set_tracking_uri(before)
    mlflow.set_registry_uri(before)


@dataclass
class Materialized:
    """A tiny world after one whole `uae materialize`: what the query-time and browser tests look at."""
    world: object  # tests.reliability.world.World
    run_id: str  # the Dagster run the CLI launched
    mlflow_ui_port: int  # the asset metadata's MLflow links point here (tests/ui starts `mlflow ui` on it)


@pytest.fixture(scope="session")
def materialized_world(tmp_path_factory, tiny_student_dir, tiny_teacher_dir) -> Materialized:
    """Built once per session (~60 s): the domain pins a training setting of its own (domains.yaml
    `run_config:`), which the browser test must see on the run page. Tests that change the world put it back."""
    import re
    import socket

    from tests.reliability.world import make_world

    root = tmp_path_factory.mktemp("materialized") / "world"
    world = make_world(root, tiny_student_dir, tiny_teacher_dir)
    world.write("domains.yaml", (root / "domains.yaml").read_text()
                + "    run_config: {ops: {uae_encoder: {config: {lam: 0.6}}}}\n")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    world.overrides["UAE_MLFLOW_UI_URL"] = f"http://127.0.0.1:{port}"
    done = world.uae("materialize", "--config", str(world.run_config()), timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    return Materialized(world, re.search(r"dagster run ([0-9a-f-]{36})", done.stdout).group(1), port)
