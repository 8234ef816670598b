"""Ctrl-C on `uae materialize`, as a terminal sends it: SIGINT to the whole foreground process group (the
CLI, the code server and the run's worker). The user gets one line (what was interrupted, what is kept,
the command to resume) and exit 130: no stack traces, no progress bars after it; the next run resumes."""

import os
import signal
import subprocess
import sys
import time

import pytest

from tests.reliability.test_kill import _latest_run, _metadata, _wait_for_log
from tests.reliability.world import REPO

pytestmark = pytest.mark.slow


def test_ctrl_c_prints_one_line_exits_130_and_the_rerun_resumes(world):
    config = world.run_config(candidate_sets={"k": 8}, utility_labels={"chunk_pairs": 16})
    proc = subprocess.Popen([sys.executable, "-m", "uae_assets.cli", "materialize", "--config", str(config)],
                            env=world.env, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)  # its own process group, like a terminal's foreground job
    deadline, run_id = time.time() + 120, None
    while run_id is None and time.time() < deadline:
        run_id = _latest_run(world)
        time.sleep(0.5)
    assert run_id, "no run was created"
    _wait_for_log(world, run_id, "utility labels:")
    time.sleep(2)  # a chunk or two committed
    os.killpg(proc.pid, signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=180)
    assert proc.returncode == 130, stderr[-3000:]
    for noise in ("Traceback", "DagsterExecutionInterruptedError", "KeyboardInterrupt"):
        assert noise not in stdout + stderr, (stdout + stderr)[-3000:]
    last = stderr.strip().splitlines()[-1]
    assert last.startswith("interrupted:") and run_id in last, stderr[-3000:]
    assert "labels" in last and "uae materialize" in last, last  # what is kept, and how to resume
    assert sum("interrupted" in line for line in stderr.splitlines()) == 1, stderr[-3000:]
    rerun = world.uae("materialize", "--config", str(config))
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    labels = _metadata(world, "utility_labels")
    assert labels["pairs_reused"] > 0  # what the interrupted run committed was kept
