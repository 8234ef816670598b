"""A small, complete world for reliability tests: a domains file, a synthetic domain, tiny models, and a
Dagster home, data dir and MLflow store of its own; plus running the `uae` CLI in it and fingerprinting
everything it has stored (so a test can assert that a failure lost or changed nothing)."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from tests.helpers import REPO, synthetic_qasper


@dataclass
class World:
    root: Path
    student: Path
    teacher: Path
    overrides: dict[str, str] = field(default_factory=dict)  # environment changes of one test case

    @property
    def env(self) -> dict[str, str]:
        return {**os.environ, "UAE_DOMAINS": str(self.root / "domains.yaml"), "UAE_DATA_DIR": str(self.root / "data"),
                "DAGSTER_HOME": str(self.root / "dh"), "HF_HUB_OFFLINE": "1", "PYTHONUNBUFFERED": "1",
                **self.overrides}

    def write(self, name: str, text: str) -> Path:
        path = self.root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        return path

    def run_config(self, **ops) -> Path:
        """A run config with the tiny models and small settings; `ops` override per-asset config."""
        config = {"resources": {"teacher": {"config": {"model": str(self.teacher), "batch_size": 16}},
                                "student": {"config": {"model": str(self.student), "max_seq_length": 64}}},
                  "ops": {"candidate_sets": {"config": {"k": 3, "max_train_queries": 0}},
                          "uae_encoder": {"config": {"epochs": 1, "batch_queries": 4, "max_seq_length": 64,
                                                     "block_if_worse": False}}}}
        for op, values in ops.items():
            config["ops"].setdefault(op, {"config": {}})["config"].update(values)
        return self.write(f"run-{hashlib.sha1(json.dumps(config).encode()).hexdigest()[:8]}.yaml", json.dumps(config))

    def uae(self, *args: str, timeout: float = 600) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "uae_assets.cli", *args], env=self.env, cwd=REPO,
                              capture_output=True, text=True, timeout=timeout)

    def forked(self) -> ForkedCLI:
        """The CLI run in forked children of one process that imported everything once (forked_cli.py)."""
        return ForkedCLI(self)

    def popen(self, *args: str) -> subprocess.Popen:
        return subprocess.Popen([sys.executable, "-m", "uae_assets.cli", *args], env=self.env, cwd=REPO,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)

    def stored(self) -> dict[str, object]:
        """What the world holds: labels (DuckDB), registered versions and champion (MLflow), indexes."""
        import duckdb
        from mlflow import MlflowClient

        out: dict[str, object] = {}
        db = self.root / "data" / "labels.duckdb"
        if db.is_file():
            con = duckdb.connect(str(db), read_only=True)
            out["labels"] = con.execute("SELECT count(*), sum(hash(teacher_id, query_id, passage_id, utility)) "
                                        "FROM utility_labels").fetchone()
            con.close()
        uri = f"sqlite:///{self.root / 'data' / 'mlflow' / 'mlflow.db'}"
        if (self.root / "data" / "mlflow" / "mlflow.db").is_file():
            client = MlflowClient(tracking_uri=uri, registry_uri=uri)
            versions = client.search_model_versions("name = 'uae-encoder-good'")
            out["versions"] = sorted(str(v.version) for v in versions)
            out["champion"] = [str(client.get_model_version_by_alias("uae-encoder-good", "champion").version)
                               ] if versions else []
        indexes = self.root / "data" / "indexes"
        out["indexes"] = sorted(str(p.relative_to(indexes)) for p in indexes.rglob("*.faiss")) if indexes.is_dir() \
            else []
        return out


class ForkedCLI:
    """`world.uae(...)`'s answers (returncode, stdout, stderr) from forked_cli.py; close() ends it."""

    def __init__(self, world: World):
        self.proc = subprocess.Popen([sys.executable, "-m", "tests.reliability.forked_cli"], env=world.env, cwd=REPO,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)

    def uae(self, world: World, *args: str) -> subprocess.CompletedProcess:
        self.proc.stdin.write(json.dumps({"argv": list(args), "env": world.env, "cwd": str(REPO)}) + "\n")
        self.proc.stdin.flush()
        reply = json.loads(self.proc.stdout.readline())
        return subprocess.CompletedProcess(list(args), reply["returncode"], reply["stdout"], reply["stderr"])

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait(timeout=60)


def make_world(root: Path, student: Path, teacher: Path, papers: int = 30) -> World:
    world = World(root, student, teacher)
    world.write("good.json", json.dumps(synthetic_qasper(papers)))
    world.write("domains.yaml", f"default: good\ndomains:\n  good:\n    path: {root / 'good.json'}\n")
    (root / "dh").mkdir(parents=True, exist_ok=True)
    (root / "dh" / "dagster.yaml").write_text((REPO / "dagster_home" / "dagster.yaml").read_text())
    return world
