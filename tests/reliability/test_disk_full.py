"""A disk that fills up during training: one line naming the disk and the fix, nothing stored is lost, and the
MLflow run is not left RUNNING (its ending cannot be written while the disk is full: the next command's
recovery ends it FAILED).

The world's MLflow store is copied onto a small tmpfs mounted over it and filled up; unmounting puts the
session's store back untouched. Mounting needs root (CI runs as root): skipped with the reason otherwise."""

import json
import os
import shutil
import subprocess
import sys
import time

import pytest

from tests.helpers import REPO

pytestmark = pytest.mark.slow


@pytest.fixture
def full_mlflow_store(materialized_world, tmp_path):
    store = materialized_world.world.root / "data" / "mlflow"
    copy = tmp_path / "mlflow"
    shutil.copytree(store, copy)
    size = sum(f.stat().st_size for f in copy.rglob("*") if f.is_file()) + (4 << 20)
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(store)], capture_output=True,
                             text=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small filesystem here: {mounted.stderr.strip()}")
    try:
        shutil.copytree(copy, store, dirs_exist_ok=True)
        stat = os.statvfs(store)
        with open(store / "ballast", "wb") as fh:  # leave 64 KB: the run starts, its first writes fail
            fh.write(b"\0" * (stat.f_bavail * stat.f_frsize - (64 << 10)))
        yield store
    finally:  # the failed run's worker may still be closing its files: wait, then detach it lazily
        for _ in range(30):
            if subprocess.run(["umount", str(store)], capture_output=True).returncode == 0:
                break
            time.sleep(1)
        else:
            subprocess.run(["umount", "-l", str(store)], check=True)


# Run in a child process: MLflow keeps a database engine per URI in the process that opened it, and one left
# open on the small filesystem would keep it busy (and serve the session's later tests the wrong store).
AFTER = """
import json, sys
from dagster import DagsterInstance
from mlflow import MlflowClient
from tests.reliability.world import World
from uae_assets.recovery import close_stale_runs

world = World(*map(__import__("pathlib").Path, sys.argv[1:4]))
stored = world.stored()
uri = f"sqlite:///{world.root / 'data' / 'mlflow' / 'mlflow.db'}"
client = MlflowClient(tracking_uri=uri, registry_uri=uri)
with DagsterInstance.get() as instance:
    close_stale_runs(instance, client)  # what the next `uae materialize` does first
runs = client.search_runs([client.get_experiment_by_name("uae-good").experiment_id],
                          filter_string=f"tags.dagster_run_id = '{sys.argv[4]}'")
print(json.dumps({"stored": stored, "statuses": [r.info.status for r in runs]}))
"""


def test_a_full_disk_gives_one_line_and_keeps_everything(materialized_world, full_mlflow_store):
    world = materialized_world.world
    before = world.stored()
    proc = world.uae("materialize", "--config", str(world.run_config(uae_encoder={"epochs": 2})))
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1, out[-3000:]
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("error: uae_encoder: the disk is full (No space left on device) under "), out[-3000:]
    assert "free space there, then run the same command" in last
    assert "Traceback" not in out and "sqlalche.me" not in out, out[-3000:]
    run_id = next(line.split()[2] for line in proc.stderr.splitlines() if line.startswith("dagster run "))

    (full_mlflow_store / "ballast").unlink()  # the user frees space
    after = subprocess.run([sys.executable, "-c", AFTER, str(world.root), str(world.student), str(world.teacher),
                            run_id], env=world.env, cwd=REPO, capture_output=True, text=True, timeout=300)
    assert after.returncode == 0, after.stderr[-3000:]
    result = json.loads(after.stdout.strip().splitlines()[-1])
    assert result["stored"] == json.loads(json.dumps(before))  # labels, versions, champion, indexes
    assert result["statuses"] == ["FAILED"]  # not left RUNNING
