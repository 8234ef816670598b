"""Write docs/spine_run.md from the latest successful `uae_pipeline` run of a domain: the wall time of each
asset step and its longest silence (the longest stretch with no line in the step's Dagster event log: what a
user watching the run sees as a hang), and the evaluation report the run produced.

    bash scripts/run.sh                      # the default run (or .venv/bin/uae materialize --domain D)
    .venv/bin/python -m bench.spine_run      # then this, on the same machine
"""

from __future__ import annotations

import argparse
import json
import os
import platform
from dataclasses import dataclass
from datetime import datetime, timezone
from itertools import pairwise
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Silence:
    seconds: float
    after: str  # the last line before the silence


def step_silences(instance, run_id: str) -> dict[str, Silence]:
    """Each step's longest gap between two consecutive events of its own in the run's event log, from its
    STEP_START on (the run plans every asset at its start: those events wait for the step, they are not it)."""
    by_step: dict[str, list] = {}
    for entry in instance.all_logs(run_id):
        if entry.step_key:
            by_step.setdefault(entry.step_key, []).append(entry)
    out = {}
    for step, entries in by_step.items():
        entries.sort(key=lambda e: e.timestamp)
        starts = [i for i, e in enumerate(entries)
                  if e.dagster_event and e.dagster_event.event_type_value == "STEP_START"]
        entries = entries[starts[0]:] if starts else entries
        gaps = [(b.timestamp - a.timestamp, a) for a, b in pairwise(entries)] or [(0.0, entries[0])]
        seconds, before = max(gaps, key=lambda g: g[0])
        out[step] = Silence(round(seconds, 1), (before.message or "")[:120])
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--domain", default="qasper")
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "spine_run.md")
    parser.add_argument("--made-by", default="bash scripts/run.sh", help="the command that made the run")
    parser.add_argument("--note", default="", help="a paragraph under the header (the machine, the estimate)")
    args = parser.parse_args()
    os.environ.setdefault("DAGSTER_HOME", str(REPO / "dagster_home"))
    from dagster import DagsterInstance, DagsterRunStatus, RunsFilter

    from uae_assets.domains import data_dir
    from uae_core.evaluation.metrics import METRICS

    with DagsterInstance.get() as instance:
        runs = instance.get_runs(RunsFilter(job_name="uae_pipeline", statuses=[DagsterRunStatus.SUCCESS],
                                            tags={"dagster/partition": args.domain}), limit=1)
        if not runs:
            raise SystemExit(f"no successful uae_pipeline run for {args.domain} in {os.environ['DAGSTER_HOME']}")
        run = runs[0]
        stats = instance.get_run_step_stats(run.run_id)
        run_stats = instance.get_run_stats(run.run_id)
        silences = step_silences(instance, run.run_id)
    report = json.loads((data_dir() / "reports" / args.domain / "eval_report.json").read_text())
    lines = [f"# Default run: domain `{args.domain}`", "",
             f"Dagster run `{run.run_id}`, "
             f"{datetime.fromtimestamp(run_stats.start_time, timezone.utc):%Y-%m-%d %H:%M} UTC, "
             f"on {os.cpu_count()} CPU cores ({platform.machine()}), no GPU. Made by `{args.made_by}` then "
             f"`.venv/bin/python -m bench.spine_run --domain {args.domain}`.", "",
             *([args.note, ""] if args.note else []),
             "| asset step | wall time (s) | longest silence (s) | after the line |", "|---|---|---|---|"]
    for s in sorted(stats, key=lambda s: s.start_time or 0):
        quiet = silences.get(s.step_key, Silence(0.0, ""))
        after = quiet.after.replace("|", "/")
        lines.append(f"| {s.step_key} | {s.end_time - s.start_time:.1f} | {quiet.seconds:.1f} | {after} |")
    lines += [f"| **whole run** | **{run_stats.end_time - run_stats.start_time:.1f}** | | |", "",
              f"Held-out {report['split']} split: {report['n_queries']} questions, {report['n_passages']} passages, "
              f"scope `{report['scope']}`, model `{report['model_uri']}`.", "",
              "| system | " + " | ".join(METRICS) + " | latency p50 ms |", "|---|" + "---|" * (len(METRICS) + 1)]
    for name, m in report["systems"].items():
        lines.append(f"| {name} | " + " | ".join(f"{m[k]:.3f}" for k in METRICS) + f" | {m['latency_ms_p50']:.1f} |")
    gains = report.get("relative_gain_vs_base", {})
    if gains:
        lines += ["", "Relative to the base encoder: " + "; ".join(
            f"{name} Recall@1 {g['success@1']:+.1%}, MAP {g['map']:+.1%}" for name, g in gains.items()) + "."]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines) + "\n")
    print(args.out.read_text())


if __name__ == "__main__":
    main()
