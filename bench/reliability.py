"""docs/reliability.md: every case of the reliability catalogue (tests/reliability/cases.py) run against the
real CLI in a world that already holds a trained domain, with the exit code and the error line each gives.

    .venv/bin/python -m bench.reliability          # ~5 minutes on 2 cores; the suite asserts the same cases
"""

from __future__ import annotations

import dataclasses
import tempfile
from datetime import datetime, timezone
from pathlib import Path

from tests.helpers import build_tiny_student, build_tiny_teacher
from tests.reliability.cases import CASES
from tests.reliability.world import make_world

REPO = Path(__file__).resolve().parent.parent


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        student, teacher = build_tiny_student(root / "student"), build_tiny_teacher(root / "teacher")
        world = make_world(root / "world", student, teacher)
        done = world.uae("materialize", "--config", str(world.run_config()))
        assert done.returncode == 0, done.stderr[-3000:]
        before = world.stored()
        rows = []
        for case in CASES:
            w = dataclasses.replace(world, overrides={})
            case.setup(w)
            proc = w.uae(*case.args(w))
            output = (proc.stderr + proc.stdout).splitlines()
            lines = [x for x in output if x.startswith("error:") or ": error:" in x]  # ours, or argparse's
            message = (lines[-1] if lines else f"(exit {proc.returncode}: {(output or ['no output'])[0]})"
                       ).replace(tmp, "…")
            kept = "yes" if w.stored() == before else "NO"
            rows.append(f"| {case.what} | `uae {' '.join(case.args(w)).replace(tmp, '…')}` | {proc.returncode} | "
                        f"{message.replace('|', '/')} | {kept} |")
            print(case.name, proc.returncode, message[:120], flush=True)
    lines = ["# Reliability: what `uae` answers to bad input and faults", "",
             f"Made by `.venv/bin/python -m bench.reliability` on {datetime.now(timezone.utc):%Y-%m-%d}: each case "
             "of `tests/reliability/cases.py` run against the real CLI in a world that already holds a trained domain "
             "(labels in DuckDB, a registered champion, an index). The suite asserts the same cases "
             "(tests/reliability/test_catalogue.py: exit code, the fragments naming file / record / field, no "
             "traceback, nothing stored lost or changed). `…` stands for the temporary folder.", "",
             "| mistake or fault | command | exit | what it says | stored state kept |", "|---|---|---|---|---|",
             *rows, "",
             "## Crashes (tests/reliability/test_kill.py)", "",
             "| fault | what happens |", "|---|---|",
             "| kill -9 of the run's worker while it labels | the command notices within seconds, prints `error: its "
             "run worker (pid N) is gone` and exits 1; the run is marked failed and its pool slots freed; the labels "
             "it "
             "committed (every `chunk_pairs` pairs) stay; `uae materialize` again completes and reuses them |",
             "| kill -9 of the run's worker while it trains | the same; its MLflow run is ended as KILLED; the re-run "
             "asks the teacher nothing and trains again (training restarts: a default training takes minutes) |",
             "| a run left STARTED by a worker that died while nothing watched it | the next `uae materialize` closes "
             "it first (`closed run …`): failed, slots freed, MLflow runs KILLED |",
             "| Ctrl-C on `uae materialize` | one line, exit 130: `interrupted: run … stopped; the candidate sets, "
             "labels and models it stored are kept (its worker's output: <data>/logs/<domain>-<time>.log); resume "
             "with: uae materialize …`; the run's own stack traces and progress bars go to that log, none after the "
             "line (tests/reliability/test_kill.py) |",
             "| a second `uae materialize` of a domain while its run is in progress | refused in one line, naming the "
             "run (runs of other domains wait for the `duckdb`/`mlflow` pool slots instead) |", ""]
    (REPO / "docs" / "reliability.md").write_text("\n".join(lines))
    print(REPO / "docs" / "reliability.md")


if __name__ == "__main__":
    main()
