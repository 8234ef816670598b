"""A run config checked before the run starts: its shape against the job's schema (Dagster), then every
value the way the assets will read it (the core dataclasses check ranges), so that `k: -1` or
`epochs: 0` stops the command in a second instead of failing after hours of labeling and training."""

from __future__ import annotations

from dataclasses import dataclass

from dagster import DagsterInvalidConfigError, validate_run_config

from uae_assets.config import to_dataclass


class RunConfigError(ValueError):
    """The run config is invalid; the message names the asset (or resource) and the field."""


def _config_classes() -> dict[str, tuple[type, type | None]]:
    """op name -> (its Dagster Config class, the core dataclass it becomes)."""
    from uae_assets.assets.candidate_sets import CandidateSetsConfig
    from uae_assets.assets.corpus import LoadConfig
    from uae_assets.assets.eval_report import EvalReportConfig
    from uae_assets.assets.uae_encoder import TrainingConfig
    from uae_assets.assets.utility_labels import LabelingConfig
    from uae_core.data import LoadOptions
    from uae_core.evaluation.compare import EvalConfig
    from uae_core.labeling.candidates import CandidateConfig
    from uae_core.labeling.selection import SelectionConfig
    from uae_core.training.trainer import TrainConfig

    return {"corpus": (LoadConfig, LoadOptions), "candidate_sets": (CandidateSetsConfig, CandidateConfig),
            "utility_labels": (LabelingConfig, SelectionConfig), "uae_encoder": (TrainingConfig, TrainConfig),
            "eval_report": (EvalReportConfig, EvalConfig)}


def check_run_config(run_config: dict, job_name: str = "uae_pipeline") -> None:
    """Raise RunConfigError (one line per problem) if the run config would fail any step."""
    from uae_assets.definitions import defs
    from uae_assets.resources import TeacherResource

    if not isinstance(run_config, dict):
        raise RunConfigError(f"the run config must be a mapping (ops:, resources:), got {type(run_config).__name__}")
    try:
        validate_run_config(defs.resolve_job_def(job_name), run_config)
    except DagsterInvalidConfigError as exc:
        raise RunConfigError("; ".join(e.message for e in exc.errors) or str(exc)) from None
    for op in _config_classes():
        problem = config_problem(op, ((run_config.get("ops") or {}).get(op) or {}).get("config") or {})
        if problem:
            raise RunConfigError(f"ops.{op}.config: {problem}")
    teacher = ((run_config.get("resources") or {}).get("teacher") or {}).get("config") or {}
    try:
        TeacherResource(**teacher).teacher_config()
    except ValueError as exc:
        raise RunConfigError(f"resources.teacher.config: {_first_line(exc)}") from None


def config_problem(op: str, values: dict) -> str | None:
    """Why `values` would fail asset `op`'s config (unknown field, wrong type, out of range), or None."""
    config_class, target = _config_classes()[op]
    unknown = sorted(set(values) - set(config_class.model_fields))
    if unknown:
        return f"unknown field(s) {unknown}; known: {', '.join(config_class.model_fields)}"
    try:
        config = config_class(**values)
        if target is not None:
            to_dataclass(config, target)
    except (TypeError, ValueError) as exc:
        return _first_line(exc)
    return None


def _no_gold_advice(corpus, chosen: list) -> str:
    """What to change when the evaluated split has no question with gold, by what the loader saw."""
    unmatched = corpus.report.skipped.get("evidence_unmatched", 0)
    if unmatched:
        return (f"{unmatched} gold ids (gold_ids, qrels or evidence) name no passage of the corpus "
                "(skipped_evidence_unmatched): make them the passage ids the corpus has")
    if chosen:
        return "give some of its questions gold evidence (gold_ids, qrels), or evaluate another split"
    return ("add documents; or put questions in it: a question's own `split` field wins, the split fractions "
            "(ops.corpus.config) place only questions without one; or change eval_report's split")


def op_dataclass(run_config: dict, op: str):
    """Asset `op`'s config in this run (its defaults where the run config is silent) as the core dataclass."""
    config_class, target = _config_classes()[op]
    values = ((run_config.get("ops") or {}).get(op) or {}).get("config") or {}
    return to_dataclass(config_class(**values), target)


def _first_line(exc: Exception) -> str:
    """pydantic's errors span lines; the field and the problem fit on one."""
    errors = getattr(exc, "errors", None)
    if callable(errors):
        return "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in errors())
    return str(exc).splitlines()[0]


@dataclass
class Preflight:
    corpus: object  # uae_core.data.Corpus, as the run will load it
    warnings: list[str]


def preflight(domain, run_config: dict) -> Preflight:
    """Load the domain's data as the run will and stop now if a later step cannot succeed: no passages,
    no train question to label, no test question with gold for eval_report. Returns the corpus (for the
    run's estimate) and warnings (no dev question with gold: promotion then has nothing to compare)."""
    from uae_assets.assets.corpus import LoadConfig
    from uae_assets.config import to_dataclass
    from uae_core.data import LoadOptions, load_corpus

    values = ((run_config.get("ops") or {}).get("corpus") or {}).get("config") or {}
    corpus = load_corpus(domain.source_file(), domain.format, to_dataclass(LoadConfig(**values), LoadOptions))
    where = f"domain {domain.name!r} ({domain.path})"
    if not corpus.passages:
        raise RunConfigError(f"{where}: no passage to retrieve")
    splits = {s: [q for q in corpus.queries if q.split == s] for s in ("train", "dev", "test")}
    if not splits["train"]:
        raise RunConfigError(f"{where}: no question in the train split ({len(corpus.queries)} usable questions, "
                             f"skipped: {dict(corpus.report.skipped) or 'none'}); add documents with questions")
    eval_split = (((run_config.get("ops") or {}).get("eval_report") or {}).get("config") or {}).get("split", "test")
    chosen = corpus.queries if eval_split == "all" else splits.get(eval_split, [])
    if not any(q.gold_passage_ids for q in chosen):
        raise RunConfigError(f"{where}: the {eval_split!r} split has {len(chosen)} questions and none with gold "
                             f"evidence, so eval_report could not score anything; {_no_gold_advice(corpus, chosen)}")
    return Preflight(corpus, [] if any(q.gold_passage_ids for q in splits["dev"]) else [
        f"{where}: no dev question has gold evidence; the first trained version becomes champion and later "
        "ones cannot be compared"])
