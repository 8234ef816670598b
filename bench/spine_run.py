"""Write docs/spine_run.md from the latest successful `uae_pipeline` run of a domain: the wall time of each
asset step (from the Dagster instance) and the evaluation report it produced.

    bash scripts/run.sh                      # the default run (or .venv/bin/uae materialize --domain D)
    .venv/bin/python -m bench.spine_run      # then this, on the same machine
"""

from __future__ import annotations

import argparse
import json
import os
import platform
from datetime import datetime, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--domain", default="qasper")
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "spine_run.md")
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
    report = json.loads((data_dir() / "reports" / args.domain / "eval_report.json").read_text())
    lines = [f"# Default run: domain `{args.domain}`", "",
             f"Dagster run `{run.run_id}`, "
             f"{datetime.fromtimestamp(run_stats.start_time, timezone.utc):%Y-%m-%d %H:%M} UTC, "
             f"on {os.cpu_count()} CPU cores ({platform.machine()}), no GPU. Made by `bash scripts/run.sh` then "
             "`.venv/bin/python -m bench.spine_run`.", "",
             "| asset step | wall time (s) |", "|---|---|"]
    for s in sorted(stats, key=lambda s: s.start_time or 0):
        lines.append(f"| {s.step_key} | {s.end_time - s.start_time:.1f} |")
    lines += [f"| **whole run** | **{run_stats.end_time - run_stats.start_time:.1f}** |", "",
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
