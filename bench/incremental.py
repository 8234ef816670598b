"""Recompute only what changed: measure the two targets of docs/incremental.md.

1. No-change re-run: materialize the whole graph for a domain that is already up to date (the default run
   has been done) and time it; count teacher requests (must be 0) and whether training was reused.
2. Growth: a domain made of 90 % of the QASPER pool's papers is labeled (up to utility_labels), then the
   other 10 % of papers are added and it is labeled again; the second run's newly labeled pairs are
   compared with the pairs a full relabel of the grown domain would need.

    .venv/bin/python -m bench.incremental            # after `bash scripts/run.sh`
It uses the real packaged teacher and the repo's Dagster instance (1) and a temporary one (2).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
POOL = REPO.parent / "shared" / "data" / "qasper" / "qasper-train-pool.json"
UP_TO_LABELS = ["raw_corpus", "passages", "queries", "candidate_sets", "utility_labels"]


def materialize(env: dict, domain: str, config: Path | None = None, select: list[str] | None = None) -> float:
    cmd = [sys.executable, "-m", "uae_assets.cli", "materialize", "--domain", domain]
    if config:
        cmd += ["--config", str(config)]
    if select:
        cmd += ["--select", ",".join(select)]
    started = time.perf_counter()
    subprocess.run(cmd, env=env, cwd=REPO, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def latest_metadata(dagster_home: str, key: str) -> dict:
    os.environ["DAGSTER_HOME"] = dagster_home
    from dagster import AssetKey, DagsterInstance

    with DagsterInstance.get() as instance:
        event = instance.get_latest_materialization_event(AssetKey(key))
        return {k: v.value for k, v in event.asset_materialization.metadata.items()}


def no_change_rerun(domain: str) -> dict:
    env = {**os.environ, "DAGSTER_HOME": str(REPO / "dagster_home")}
    seconds = materialize(env, domain)
    labels = latest_metadata(env["DAGSTER_HOME"], "utility_labels")
    encoder = latest_metadata(env["DAGSTER_HOME"], "uae_encoder")
    return {"seconds": seconds, "teacher_requests": labels["teacher_requests"],
            "pairs_reused": labels["pairs_reused"], "training_reused": encoder["reused"]}


def growth(max_train_queries: int, k: int) -> dict:
    pool = json.loads(POOL.read_text())
    ordered = sorted(pool, key=lambda p: hashlib.sha1(p.encode()).hexdigest())
    cut = int(len(ordered) * 0.9)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        data = tmp / "grow.json"
        (tmp / "domains.yaml").write_text(f"domains:\n  grow:\n    path: {data}\n    scope: corpus\n")
        (tmp / "dh").mkdir()
        (tmp / "dh" / "dagster.yaml").write_text((REPO / "dagster_home" / "dagster.yaml").read_text())
        config = tmp / "run.yaml"
        config.write_text(f"ops:\n  candidate_sets: {{config: {{k: {k}, max_train_queries: {max_train_queries}}}}}\n")
        env = {**os.environ, "UAE_DOMAINS": str(tmp / "domains.yaml"), "UAE_DATA_DIR": str(tmp / "data"),
               "DAGSTER_HOME": str(tmp / "dh")}
        data.write_text(json.dumps({p: pool[p] for p in ordered[:cut]}))
        first_s = materialize(env, "grow", config, UP_TO_LABELS)  # training is not what this measures
        first = latest_metadata(env["DAGSTER_HOME"], "utility_labels")
        data.write_text(json.dumps(pool))
        second_s = materialize(env, "grow", config, UP_TO_LABELS)
        second = latest_metadata(env["DAGSTER_HOME"], "utility_labels")
    return {"papers_before": cut, "papers_after": len(ordered), "first_pairs": first["pairs_labeled_now"],
            "first_seconds": first_s, "grown_pairs_total": second["pairs_total"],
            "grown_pairs_labeled_now": second["pairs_labeled_now"], "grown_seconds": second_s,
            "share_of_full_relabel": second["pairs_labeled_now"] / second["pairs_total"]}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--domain", default="qasper")
    parser.add_argument("--max-train-queries", type=int, default=200, help="cap of the growth experiment")
    parser.add_argument("--k", type=int, default=8)
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "incremental.md")
    args = parser.parse_args()
    rerun = no_change_rerun(args.domain)
    grow = growth(args.max_train_queries, args.k)
    lines = [
        "# Recompute only what changed", "",
        f"Measured {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC on {os.cpu_count()} CPU cores "
        f"({platform.machine()}), no GPU, by `.venv/bin/python -m bench.incremental` "
        "(after `bash scripts/run.sh`).", "",
        "| target | measured | goal |", "|---|---|---|",
        f"| no-change re-run of the whole graph, domain `{args.domain}` | {rerun['seconds']:.1f} s, "
        f"{rerun['teacher_requests']} teacher requests, {rerun['pairs_reused']} labels reused, training reused: "
        f"{rerun['training_reused']} | < 60 s, 0 teacher calls |",
        f"| +10 % papers ({grow['papers_before']} -> {grow['papers_after']}), K={args.k}, "
        f"cap {args.max_train_queries} train questions | {grow['grown_pairs_labeled_now']} of "
        f"{grow['grown_pairs_total']} pairs labeled = {grow['share_of_full_relabel']:.1%} of a full relabel "
        f"({grow['grown_seconds']:.0f} s vs {grow['first_seconds']:.0f} s for the first labeling) | <= 12 % |", "",
        "The no-change re-run still executes every step (the CLI always materializes the whole chain): each step "
        "finds its work done (labels by key in DuckDB, the model by `training_key` in the MLflow registry, "
        "embeddings by model in the cache) and re-records it. The automation sensor does better: with nothing "
        "changed it launches no run at all (tests/test_automation.py).", "",
        "Why the growth share is not exactly 10 %: old questions keep their candidate sets (sticky sets), so "
        "the new pairs are those of the new papers' questions that enter the capped selection (the train "
        "questions are capped in a fixed hash order, so some new ones displace old ones). Before sticky sets, "
        "new paragraphs also displaced old candidates of old questions in corpus scope, and the same "
        "experiment labeled 18.9 % (302 of 1,600 pairs).",
    ]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines) + "\n")
    print(args.out.read_text())


if __name__ == "__main__":
    main()
