"""scripts/setup.sh on a finished setup: skipped while it and pyproject.toml are unchanged, redone when either
changes or with UAE_SETUP=force. A stand-in .venv/bin/python records what setup asks of it (no pip here)."""

import os
import shutil
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def _setup(root: Path, **env) -> tuple[str, list[str]]:
    log = root / "calls.log"
    log.write_text("")
    proc = subprocess.run(["bash", "scripts/setup.sh"], cwd=root, capture_output=True, text=True, timeout=60,
                          env={**os.environ, "UAE_SETUP": "", **env})
    assert proc.returncode == 0, proc.stderr
    return proc.stdout, log.read_text().splitlines()


def test_setup_runs_once_then_only_when_it_or_pyproject_changes(tmp_path):
    (tmp_path / "scripts").mkdir()
    shutil.copy(REPO / "scripts" / "setup.sh", tmp_path / "scripts" / "setup.sh")
    shutil.copy(REPO / "pyproject.toml", tmp_path / "pyproject.toml")
    python = tmp_path / ".venv" / "bin" / "python"
    python.parent.mkdir(parents=True)
    python.write_text(f'#!/bin/sh\necho "$*" >> {tmp_path / "calls.log"}\n')
    python.chmod(0o755)

    out, calls = _setup(tmp_path)
    assert any("pip install -q torch==2.13.0" in c for c in calls) and "set up already" not in out
    out, calls = _setup(tmp_path)
    assert calls == [] and "set up already" in out  # nothing asked of pip the second time
    out, calls = _setup(tmp_path, UAE_SETUP="force")
    assert any("pip install" in c for c in calls)
    with (tmp_path / "pyproject.toml").open("a") as f:
        f.write("\n# a changed dependency list\n")
    out, calls = _setup(tmp_path)
    assert any("pip install" in c for c in calls)
    out, calls = _setup(tmp_path)
    assert calls == []
