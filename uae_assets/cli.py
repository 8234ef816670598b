"""`uae`: run the asset chain for a domain, compare its runs, evaluate any encoder, and use the retriever.

    uae materialize [--domain D] [--config FILE] [--select a,b]   the UI's "Materialize all", from a shell
    uae runs [--domain D]                                           a domain's training runs side by side
    uae evaluate --model M --data PATH                              any encoder on any data, same report
    uae search "question" [--domain D] [--k 5] [--system hybrid]    the champion's retriever
    uae serve [--domain D] [--port 8000]                            the same over HTTP
    uae export DIR [--domain D]                                     the champion as a sentence-transformers folder

Runs record into DAGSTER_HOME (default: dagster_home/ in the repo), so `dagster dev` shows them. Every
command exits non-zero with a one-line error (file, record, field) on bad input; --debug shows the trace.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import re
import shlex
import sys
import time
from pathlib import Path

import yaml

from uae_assets.domains import REPO_ROOT, DomainError, data_dir, load_domains


class UsageError(Exception):
    """A mistake in the command's arguments, said in one line."""


def _instance():
    os.environ.setdefault("DAGSTER_HOME", str(REPO_ROOT / "dagster_home"))
    Path(os.environ["DAGSTER_HOME"]).mkdir(parents=True, exist_ok=True)
    from dagster import DagsterInstance

    return DagsterInstance.get()


def _domain(name: str | None) -> str:
    """The named domain (configured or watched), or the default one; unknown names list the known ones."""
    from uae_assets.domains import get_domain

    return get_domain(name or load_domains()[1]).name


def _run_config(path: Path | None) -> dict:
    if path is None:
        return {}
    try:
        raw = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise UsageError(f"{path}: no such run config file") from None
    except yaml.YAMLError as exc:
        raise UsageError(f"{path}: not valid YAML ({str(exc).splitlines()[0]})") from None
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise UsageError(f"{path}: a run config is a mapping with `ops:` and/or `resources:`, "
                         f"got a {type(raw).__name__}")
    return raw


def materialize(domain: str, run_config: dict, select: list[str] | None = None) -> int:
    from uae_assets.domain_config import merge_under
    from uae_assets.domains import get_domain
    from uae_assets.run_config import check_run_config, preflight
    from uae_assets.run_lock import DomainBusy, domain_run_lock

    target = get_domain(domain)
    if target.run_config:  # the domain's own settings (domains.yaml), under the --config file's
        print(f"domain {domain!r} settings from {target.run_config_source}: "
              f"{json.dumps(merge_under({}, target)['ops'])}; --config values win", file=sys.stderr)
    run_config = merge_under(run_config, target)
    check_run_config(run_config)
    checked = preflight(target, run_config)
    for warning in checked.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    instance = _instance()
    try:  # held until the run ends: the check for runs in progress and the launch below are one step
        with domain_run_lock(Path(os.environ["DAGSTER_HOME"]) / "locks", domain):
            return _materialize_locked(instance, domain, run_config, select, checked.corpus, target.scope)
    except DomainBusy as exc:
        raise UsageError(str(exc)) from None


def _materialize_locked(instance, domain: str, run_config: dict, select: list[str] | None, corpus,
                        scope: str) -> int:
    from uae_assets.launch import check_selection, launch_and_wait
    from uae_assets.recovery import close_stale_runs, end_mlflow_runs, host_tags, live_runs_of
    from uae_assets.resources import LabelStoreResource, MLflowResource, TeacherResource
    from uae_assets.run_estimate import RunClock, describe, estimate_run
    from uae_assets.sync import apply_sync, plan_sync

    for stale in close_stale_runs(instance, MLflowResource().client()):
        print(f"closed run {stale.run_id} ({stale.partition}): {stale.reason}; its pool slots are free, "
              "its stored labels are kept", file=sys.stderr)
    busy = live_runs_of(instance, domain)
    if busy:
        raise UsageError(f"domain {domain!r} has a run in progress ({', '.join(busy)}); wait for it, or stop it "
                         "in the UI (Runs) or with Ctrl-C in its terminal")
    if select:
        check_selection(instance, domain, select)
    resources = run_config.get("resources") or {}
    LabelStoreResource(**(resources.get("labels") or {}).get("config", {})).check()  # before the run, one line
    teacher = TeacherResource(**(resources.get("teacher") or {}).get("config", {}))
    # Register the domain and record the versions of its file and of the teacher, as the sensor would,
    # so that the UI's staleness and the automation see what this run used.
    apply_sync(instance, plan_sync(instance, teacher, only=[domain]))
    estimates = [e for e in estimate_run(corpus, run_config, scope=scope) if not select or e.asset in select]
    print(describe(estimates), file=sys.stderr)
    output_log = data_dir() / "logs" / f"{domain}-{time.strftime('%Y%m%d-%H%M%S')}.log"
    print(f"run worker output (library warnings, progress bars): {output_log}", file=sys.stderr)
    outcome = launch_and_wait(instance, "uae_pipeline", run_config,
                              {"dagster/partition": domain, "uae/trigger": "uae materialize", **host_tags()}, select,
                              output_log=output_log, clock=RunClock(estimates, select))
    where = f"dagster run {outcome.run_id} in {os.environ['DAGSTER_HOME']} (see it with `dagster dev`)"
    if outcome.status.value != "SUCCESS":
        if outcome.status.value == "FAILURE":  # a training whose own ending could not be written (disk full)
            quiet = logging.getLogger("mlflow.store.db.utils")  # it logs a store error with its stack trace
            level = quiet.level
            quiet.setLevel(logging.CRITICAL)  # setLevel, not `.level =`: it clears the loggers' cached levels
            try:
                with contextlib.suppress(Exception):  # still full: the next command's recovery ends it
                    end_mlflow_runs(MLflowResource().client(), outcome.run_id, "FAILED")
            finally:
                quiet.setLevel(level)
        print(f"{where}: {outcome.status.value}", file=sys.stderr)
        for failure in outcome.failures or [f"run ended {outcome.status.value}"]:
            print(f"error: {failure}", file=sys.stderr)
        return 1
    if select and "eval_report" not in select:
        print(f"materialized {', '.join(select)} for {domain}; {where}")
        return 0
    report_dir = data_dir() / "reports" / domain
    report = json.loads((report_dir / "eval_report.json").read_text())
    from uae_core.evaluation.report import to_markdown

    print(to_markdown(report, f"{domain}: {report['split']} split"))
    print(f"report: {report_dir / 'eval_report.md'}\n        {report_dir / 'eval_report.json'}")
    print(f"{where}; model {report['model_uri']}")
    return 0


def evaluate(args) -> int:
    from uae_assets.resources import MLflowResource
    from uae_core.evaluation.compare import EvalConfig, evaluate_encoder

    config = EvalConfig(args.split, args.scope, args.max_queries, args.llm_rerank_depth, args.answer_top_k)
    if not args.data.exists():
        raise UsageError(f"--data {args.data}: no such file or folder")
    if args.model.startswith("models:/"):
        check_registered(MLflowResource().client(), args.model)  # the embedded tracking store and registry
    elif args.model != "base" and not Path(args.model).exists() and (
            args.model.startswith((".", "/", "~")) or "/" not in args.model):
        raise UsageError(f"--model {args.model}: no such directory (expected models:/NAME/VERSION, "
                         "models:/NAME@champion, a directory, a Hugging Face id org/name, or 'base')")
    if Path(args.model).is_dir():
        from uae_core.weights import check_safetensors

        check_safetensors(args.model)  # before any work: a pickle-only folder is refused in one line
    out = args.out or data_dir() / "reports" / "evaluate" / args.data.stem
    report = evaluate_encoder(args.model, args.data, out, config, data_format=args.format,
                              cache_dir=data_dir() / "cache" / "embeddings", model_cache=data_dir() / "models",
                              trec_dir=out / "runs" if args.trec else None)
    from uae_core.evaluation.report import to_markdown

    print(to_markdown(report, f"{args.model} on {args.data.name}"))
    print(f"report: {out / 'eval_report.md'}\n        {out / 'eval_report.json'}")
    return 0


def check_registered(client, model_uri: str) -> None:
    """A UsageError (exit 2) before any work when `models:/NAME/VERSION` or `models:/NAME@ALIAS` is not in
    the registry, naming what is."""
    from mlflow.exceptions import MlflowException

    ref = model_uri.removeprefix("models:/")
    try:
        if "@" in ref:
            client.get_model_version_by_alias(*ref.split("@", 1))
        else:
            name, _, version = ref.partition("/")
            client.get_model_version(name, version)
    except MlflowException:
        known = sorted(m.name for m in client.search_registered_models())
        raise UsageError(f"--model {model_uri}: not in the model registry (registered models: "
                         f"{', '.join(known) or 'none yet; run `uae materialize` first'}; "
                         "expected models:/NAME/VERSION or models:/NAME@champion)") from None


def print_runs(domain: str, limit: int) -> int:
    from uae_assets.resources import MLflowResource
    from uae_core.tracking.runs import compare_runs, runs_table_markdown

    rows = compare_runs(MLflowResource().client(), domain, limit)
    if not rows:
        raise UsageError(f"no training runs for domain {domain!r} in MLflow yet: run `uae materialize --domain "
                         f"{domain}` first")
    print(runs_table_markdown(rows))
    return 0


# `--version`: a version number or an alias name (MLflow's own alias rule, less the characters of a path).
VERSION = re.compile(r"^(?:[1-9][0-9]{0,8}|[A-Za-z_][A-Za-z0-9_-]{0,62})$")


def check_version(version: str | None) -> None:
    """A UsageError (exit 2) unless `--version` is a version number or an alias name: it becomes a
    registry URI and a folder of the model cache, so a path (`../x`) must never get that far."""
    if version is not None and not VERSION.match(version):
        raise UsageError(f"--version {version!r}: expected a registered version number (e.g. 3) or an alias "
                         "name (e.g. champion)")


def _model_uri(client, domain: str, version: str | None) -> str:
    """`models:/uae-encoder-<domain>/<N>` of `--version` (a number or an alias), else of the champion."""
    from mlflow.exceptions import MlflowException

    from uae_core.tracking.registry import champion_uri, model_name

    name = model_name(domain)
    if version is None:
        uri = champion_uri(client, domain)
        if uri is None:
            raise UsageError(f"domain {domain!r} has no champion model yet: run `uae materialize --domain {domain}`")
        return uri
    check_version(version)
    try:
        found = client.get_model_version(name, version) if version.isdigit() else \
            client.get_model_version_by_alias(name, version)
    except MlflowException:
        raise UsageError(f"--version {version}: {name} has no such version or alias (see `uae runs --domain "
                         f"{domain}`)") from None
    return f"models:/{name}/{found.version}"


def _retriever(domain: str, version: str | None):
    """The champion's (or a given version's) retriever, as the faiss_index asset saved it."""
    from uae_assets.resources import MLflowResource
    from uae_core.retrieval.encoder import load_student
    from uae_core.retrieval.retriever import Retriever
    from uae_core.tracking.registry import champion_uri, local_copy

    client = MLflowResource().client()
    base = data_dir() / "indexes" / domain / "base"
    if version is None and champion_uri(client, domain) is None and (base / "retriever.json").is_file():
        # No version beat the base encoder on dev: the free hybrid faiss_index saved is what the domain serves.
        retriever = Retriever(base, load_student(json.loads((base / "retriever.json").read_text())["model_uri"]))
        print(f"domain {domain!r} has no champion ({retriever.meta.get('served_because', 'none promoted')}): "
              "serving BM25 + the base encoder", file=sys.stderr)
        return retriever
    uri = _model_uri(client, domain, version)
    folder = data_dir() / "indexes" / domain / f"v{uri.rsplit('/', 1)[1]}"
    if not (folder / "retriever.json").is_file():
        raise UsageError(f"{folder}: no retriever for {uri}; materialize its index with `uae materialize --domain "
                         f"{domain}` (or pass --version of a version that has one)")
    encoder = load_student(str(local_copy(uri, data_dir() / "models" / "registry")))
    return Retriever(folder, encoder)


def search(args) -> int:
    retriever = _retriever(args.domain, args.version)
    hits = retriever.search(args.question, args.k, args.system, args.doc_id)
    if args.json:
        print(json.dumps({"model_uri": retriever.meta["model_uri"], "system": args.system,
                          "hits": retriever.as_dicts(hits)}, indent=1))
        return 0
    print(f"{retriever.meta['model_uri']}, system {args.system}:")
    for hit in hits:
        text = hit.text if len(hit.text) <= 300 else hit.text[:297] + "..."
        print(f"\n{hit.rank}. {hit.passage_id}  [{hit.section}]\n   {text}")
    return 0


def serve(args) -> int:
    import uvicorn

    from uae_core.retrieval.server import create_app

    uvicorn.run(create_app(_retriever(args.domain, args.version)), host=args.host, port=args.port,
                log_level="warning")
    return 0


def export(args) -> int:
    import shutil

    from uae_assets.resources import MLflowResource
    from uae_core.tracking.registry import MANIFEST, local_copy

    check_version(args.version)
    if args.dir.exists() and (not args.dir.is_dir() or any(args.dir.iterdir())):
        raise UsageError(f"{args.dir}: exists and is not empty; choose a new folder")
    uri = _model_uri(MLflowResource().client(), args.domain, args.version)
    shutil.copytree(local_copy(uri, data_dir() / "models" / "registry"), args.dir, dirs_exist_ok=True,
                    ignore=shutil.ignore_patterns(MANIFEST))
    print(f"{uri} -> {args.dir} (load it with SentenceTransformer({str(args.dir)!r}))")
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="uae", description=__doc__.splitlines()[0])
    parser.add_argument("--debug", action="store_true", help="show the full traceback of an error")
    sub = parser.add_subparsers(dest="command", required=True)
    domain_help = "a domain of domains.yaml or of the watched folder (default: the file's `default`)"
    m = sub.add_parser("materialize", help="materialize every asset for one domain")
    m.add_argument("--domain", help=domain_help)
    m.add_argument("--config", type=Path, help="Dagster run config YAML (ops: {asset: {config: {...}}})")
    m.add_argument("--select", help="comma-separated assets to materialize (default: the whole chain)")
    r = sub.add_parser("runs", help="compare a domain's training runs in MLflow, side by side")
    r.add_argument("--domain", help=domain_help)
    r.add_argument("--limit", type=int, default=20)
    e = sub.add_parser("evaluate", help="evaluate any encoder on any data, without retraining")
    e.add_argument("--model", required=True,
                   help="models:/uae-encoder-D/3, models:/uae-encoder-D@champion, a directory, a HF id, or 'base'")
    e.add_argument("--data", required=True, type=Path, help="a domain source: file or folder")
    e.add_argument("--format", default="auto", help="qasper, beir, jsonl, parquet, documents or auto")
    e.add_argument("--scope", choices=["document", "paper", "corpus"], default="corpus")
    e.add_argument("--split", default="test", choices=["train", "dev", "test", "all"])
    e.add_argument("--out", type=Path, help="report folder (default data/reports/evaluate/<file stem>)")
    e.add_argument("--max-queries", type=int, default=0, help="a fixed subset of this many questions (0 = all)")
    e.add_argument("--llm-rerank-depth", type=int, default=0,
                   help="add LLM re-ranking (UPR) of the base top-n by the teacher (~10 s/question on 2 CPU cores)")
    e.add_argument("--answer-top-k", type=int, nargs="*", default=[],
                   help="Token F1 of the teacher's answers from each system's top k, e.g. 1 3")
    e.add_argument("--trec", action="store_true", help="also write each system's ranking as a TREC run file")
    for name, text in (("search", "search the champion's retriever"), ("serve", "serve it over HTTP")):
        s = sub.add_parser(name, help=text)
        if name == "search":
            s.add_argument("question")
            s.add_argument("--k", type=int, default=5)
            s.add_argument("--system", choices=["hybrid", "uae", "bm25"], default="hybrid")
            s.add_argument("--doc-id", help="search within this document only")
            s.add_argument("--json", action="store_true", help="print JSON")
        else:
            s.add_argument("--host", default="127.0.0.1")
            s.add_argument("--port", type=int, default=8000)
        s.add_argument("--domain", help=domain_help)
        s.add_argument("--version", help="a registered version instead of the champion")
    x = sub.add_parser("export", help="write the champion as a plain sentence-transformers folder")
    x.add_argument("dir", type=Path)
    x.add_argument("--domain", help=domain_help)
    x.add_argument("--version", help="a registered version instead of the champion")
    return parser


def check_args(args) -> None:
    """Argument values that argparse's types let through, refused in one line before any work."""
    check_version(getattr(args, "version", None))
    if args.command == "search":
        if not args.question.strip():
            raise UsageError("the question is empty: ask something, e.g. uae search \"which datasets are used?\"")
        if args.k < 1:
            raise UsageError(f"--k {args.k}: k must be at least 1")
    if args.command == "serve" and not 1 <= args.port <= 65535:
        raise UsageError(f"--port {args.port}: a TCP port is a number from 1 to 65535")
    if args.command == "runs" and args.limit < 1:
        raise UsageError(f"--limit {args.limit}: must be at least 1 (the newest runs to compare)")
    if args.command == "evaluate" and args.out is not None and args.out.exists() and not args.out.is_dir():
        raise UsageError(f"--out {args.out}: exists and is a file; --out is the folder the report is written to, "
                         "choose a folder")


def run(args) -> int:
    check_args(args)
    if args.command == "evaluate":
        return evaluate(args)
    args.domain = _domain(args.domain)
    if args.command == "runs":
        return print_runs(args.domain, args.limit)
    if args.command == "search":
        return search(args)
    if args.command == "serve":
        return serve(args)
    if args.command == "export":
        return export(args)
    return materialize(args.domain, _run_config(args.config), args.select.split(",") if args.select else None)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = _parser().parse_args(argv)
    _core_logs_to_stderr()
    try:
        return run(args)
    except KeyboardInterrupt as exc:  # one line, exit 130: the run's own traces go to its worker log
        print(interrupted(args, argv, exc), file=sys.stderr)
        return 130
    except Exception as exc:  # one line for the user; --debug for the trace
        if args.debug:
            raise
        print(f"error: {_one_line(exc)}", file=sys.stderr)
        return 2 if isinstance(exc, USER_ERRORS) else 1


class _Stderr(logging.StreamHandler):
    """A handler that writes to whatever sys.stderr is at each record (tests swap it between commands)."""

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, value) -> None:
        pass


def _core_logs_to_stderr() -> None:
    """uae_core's progress lines and warnings (e.g. `uae evaluate`'s encodes, a damaged model copy) on
    stderr, once per process; inside a Dagster run the instance forwards them to the event log instead."""
    core = logging.getLogger("uae_core")
    if not any(getattr(h, "uae_cli", False) for h in core.handlers):
        handler = _Stderr()
        handler.setFormatter(logging.Formatter("%(asctime)s %(message)s", "%H:%M:%S"))
        handler.uae_cli = True
        core.addHandler(handler)
    core.setLevel(logging.INFO)


def interrupted(args, argv: list[str], exc: KeyboardInterrupt) -> str:
    """What Ctrl-C stopped, what is kept and how to go on, in one line."""
    from uae_assets.launch import RunInterrupted

    again = shlex.join(["uae", *argv])
    if args.command != "materialize":
        return f"interrupted: `{again}` stopped; it changes nothing stored"
    if not isinstance(exc, RunInterrupted):
        return f"interrupted before the run started; nothing changed; start it with: {again}"
    return (f"interrupted: run {exc.run_id} stopped; the candidate sets, labels and models it stored are kept "
            f"(its worker's output: {exc.output_log}); resume with: {again}")


# Errors that name what the user can fix: exit 2, the message alone.
USER_ERRORS = (UsageError, DomainError, ValueError, FileNotFoundError, FileExistsError)


def _one_line(exc: Exception) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    known = (*USER_ERRORS, KeyError)
    return text if isinstance(exc, known) else f"{type(exc).__name__}: {text}"


if __name__ == "__main__":
    sys.exit(main())
