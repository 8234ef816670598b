"""`uae materialize`: run the whole asset chain for one domain on the local Dagster instance.

The same run as the UI's "Materialize all" for a partition; it records into DAGSTER_HOME (default:
dagster_home/ in the repo), so `dagster dev` shows it afterwards.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import yaml

from uae_assets.domains import REPO_ROOT, data_dir, load_domains


def _instance():
    os.environ.setdefault("DAGSTER_HOME", str(REPO_ROOT / "dagster_home"))
    Path(os.environ["DAGSTER_HOME"]).mkdir(parents=True, exist_ok=True)
    from dagster import DagsterInstance

    return DagsterInstance.get()


def materialize(domain: str, run_config: dict, select: list[str] | None = None) -> int:
    from uae_assets.launch import launch_and_wait
    from uae_assets.resources import TeacherResource
    from uae_assets.sync import apply_sync, plan_sync

    instance = _instance()
    teacher = TeacherResource(**((run_config.get("resources") or {}).get("teacher") or {}).get("config", {}))
    # Register the domain and record the versions of its file and of the teacher, as the sensor would,
    # so that the UI's staleness and the automation see what this run used.
    apply_sync(instance, plan_sync(instance, teacher, only=[domain]))
    outcome = launch_and_wait(instance, "uae_pipeline", run_config,
                              {"dagster/partition": domain, "uae/trigger": "uae materialize"}, select)
    where = f"dagster run {outcome.run_id} in {os.environ['DAGSTER_HOME']} (see it with `dagster dev`)"
    if outcome.status.value != "SUCCESS":
        for failure in outcome.failures or [f"run ended {outcome.status.value}"]:
            print(f"error: {failure}", file=sys.stderr)
        print(f"{where}: {outcome.status.value}", file=sys.stderr)
        return 1
    if select and "eval_report" not in select:
        print(f"materialized {', '.join(select)} for {domain}; {where}")
        return 0
    report_dir = data_dir() / "reports" / domain
    report = json.loads((report_dir / "eval_report.json").read_text())
    print(json.dumps({s: {m: round(v, 4) for m, v in vals.items()} for s, vals in report["systems"].items()},
                     indent=1))
    print(f"\nreport: {report_dir / 'eval_report.md'}\n        {report_dir / 'eval_report.json'}")
    print(f"{where}; model {report['model_uri']}")
    return 0


def main(argv: list[str] | None = None) -> int:
    domains, default = load_domains()
    parser = argparse.ArgumentParser(prog="uae", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    m = sub.add_parser("materialize", help="materialize every asset for one domain")
    m.add_argument("--domain", default=default, help=f"one of {sorted(domains)}, or NAME for a watched file NAME.json")
    m.add_argument("--config", type=Path, help="Dagster run config YAML (ops: {asset: {config: {...}}})")
    m.add_argument("--select", help="comma-separated assets to materialize (default: the whole chain)")
    r = sub.add_parser("runs", help="compare a domain's training runs in MLflow, side by side")
    r.add_argument("--domain", default=default)
    r.add_argument("--limit", type=int, default=20)
    e = sub.add_parser("evaluate", help="evaluate any encoder on any QASPER-layout file, without retraining")
    e.add_argument("--model", required=True,
                   help="models:/uae-encoder-D/3, models:/uae-encoder-D@champion, a directory, a HF id, or 'base'")
    e.add_argument("--data", required=True, type=Path, help="a QASPER-layout JSON file")
    e.add_argument("--scope", choices=["document", "paper", "corpus"], default="corpus")
    e.add_argument("--split", default="test", help="train | dev | test | all")
    e.add_argument("--out", type=Path, help="report folder (default data/reports/evaluate/<file stem>)")
    e.add_argument("--max-queries", type=int, default=0, help="a fixed subset of this many questions (0 = all)")
    e.add_argument("--llm-rerank-depth", type=int, default=0,
                   help="add LLM re-ranking (UPR) of the base top-n by the teacher (~10 s/question on 2 CPU cores)")
    e.add_argument("--answer-top-k", type=int, nargs="*", default=[],
                   help="Token F1 of the teacher's answers from each system's top k, e.g. 1 3")
    args = parser.parse_args(argv)
    if args.command == "evaluate":
        from uae_core.evaluation.compare import EvalConfig

        config = EvalConfig(args.split, args.scope, args.max_queries, args.llm_rerank_depth, args.answer_top_k)
        return evaluate(args.model, args.data, args.out, config)
    if args.command == "runs":
        return print_runs(args.domain, args.limit)
    run_config = yaml.safe_load(args.config.read_text()) if args.config else {}
    return materialize(args.domain, run_config or {}, args.select.split(",") if args.select else None)


def evaluate(model: str, data: Path, out: Path | None, config) -> int:
    from uae_assets.resources import MLflowResource
    from uae_core.evaluation.compare import evaluate_encoder

    if model.startswith("models:/"):
        MLflowResource().client()  # the embedded tracking store and registry
    out = out or data_dir() / "reports" / "evaluate" / data.stem
    report = evaluate_encoder(model, data, out, config, cache_dir=data_dir() / "cache" / "embeddings",
                              model_cache=data_dir() / "models")
    print(json.dumps({s: {m: round(v, 4) for m, v in vals.items()} for s, vals in report["systems"].items()},
                     indent=1))
    print(f"\nreport: {out / 'eval_report.md'}\n        {out / 'eval_report.json'}")
    return 0


def print_runs(domain: str, limit: int) -> int:
    from uae_assets.resources import MLflowResource
    from uae_core.tracking.runs import compare_runs, runs_table_markdown

    rows = compare_runs(MLflowResource().client(), domain, limit)
    if not rows:
        print(f"no runs for domain {domain!r} in MLflow", file=sys.stderr)
        return 1
    print(runs_table_markdown(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
