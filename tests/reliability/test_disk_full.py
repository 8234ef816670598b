"""A disk that fills up during training: one line naming the disk and the fix, nothing computed is lost, and
the MLflow run is not left RUNNING (its ending cannot be written while the disk is full: the next command's
recovery ends it FAILED). That a re-run reuses every stored label is test_kill.py's.

A fresh world whose MLflow store is a 2 MB tmpfs: the store's database fits, the trained model does not. Its
own world, not the session's: a failed uae_encoder would show in the browser tests' check views. Mounting
needs root (CI runs as root): skipped with the reason otherwise."""

import json
import subprocess
import sys

import pytest

from tests.helpers import REPO
from tests.reliability.world import make_world

pytestmark = pytest.mark.slow


@pytest.fixture
def small_disk_world(tmp_path, tiny_student_dir, tiny_teacher_dir):
    world = make_world(tmp_path / "world", tiny_student_dir, tiny_teacher_dir)
    store = world.root / "data" / "mlflow"
    store.mkdir(parents=True)
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(store)], capture_output=True,
                             text=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small filesystem here: {mounted.stderr.strip()}")
    try:
        yield world, store
    finally:  # lazily: this process's MLflow engine may still hold the store's database open
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


def test_a_full_disk_gives_one_line_and_keeps_everything(small_disk_world):
    world, store = small_disk_world
    proc = world.uae("materialize", "--config", str(world.run_config()))
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1, out[-3000:]
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("error: uae_encoder: the disk is full (No space left on device) under "), out[-3000:]
    assert "free space there, then run the same command" in last
    assert "Traceback" not in out and "sqlalche.me" not in out, out[-3000:]
    run_id = next(line.split()[2] for line in proc.stderr.splitlines() if line.startswith("dagster run "))

    subprocess.run(["mount", "-o", "remount,size=64m", str(store)], check=True)  # the user frees space
    after = subprocess.run([sys.executable, "-c", AFTER, str(world.root), str(world.student), str(world.teacher),
                            run_id], env=world.env, cwd=REPO, capture_output=True, text=True, timeout=300)
    assert after.returncode == 0, after.stderr[-3000:]
    result = json.loads(after.stdout.strip().splitlines()[-1])
    assert result["stored"]["labels"][0] > 0 and result["stored"]["versions"] == []  # labels kept, no model
    assert result["statuses"] == ["FAILED"]  # not left RUNNING
