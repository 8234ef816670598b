"""The tracked training step: one student trained as an MLflow run, merged back toward its base by the share
that scores best on dev (TrainConfig.merge_shares), registered, and made `champion` only if it beats the
champion there. The uae_encoder asset and the benchmark both call it.

Memoised: a registered version trained on the same examples, config, base weights and code (its tag
`training_key`) is reused, so a re-run with nothing changed trains nothing.

Example:
    result = distill(examples, TrainConfig(), load_student(DEFAULT_STUDENT), Tracking(client, "qasper", root),
                     evaluate_dev=lambda model: {"map": 0.2})
    result.encoder.model_uri   # models:/uae-encoder-qasper/1
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field

import mlflow
from mlflow import MlflowClient

from uae_core.retrieval.encoder import weights_digest
from uae_core.tracking.registry import (
    PromotionDecision,
    RegisteredEncoder,
    champion_uri,
    find_version,
    local_copy,
    log_student,
    model_name,
    promote_if_better,
    register_version,
)
from uae_core.tracking.runs import experiment_id, experiment_name, git_commit, log_dataset
from uae_core.training.examples import TrainExample, training_code_digest, training_key
from uae_core.training.merge import MergeChoice, train_and_merge
from uae_core.training.trainer import NonFiniteLossError, TrainConfig, TrainResult


@dataclass(frozen=True)
class Tracking:
    """Where a training is recorded: the client, the domain (experiment `uae-<domain>` and registered
    model `uae-encoder-<domain>`), the artifact root, extra run tags; `register=False` logs the run only
    (benchmark sweeps), `experiment` overrides the experiment name, `parent_run_id` nests the run,
    `dataset` is the domain's source and data version, logged as the run's dataset input."""

    client: MlflowClient
    domain: str
    artifact_root: str | None = None
    tags: dict[str, str] = field(default_factory=dict)
    register: bool = True
    experiment: str | None = None
    parent_run_id: str | None = None
    dataset: tuple[str, str] | None = None  # (source path, data version): the run's dataset input
    model_cache: str | None = None  # where the champion is downloaded to, to score it on today's dev split


@dataclass
class DistillResult:
    run_id: str
    training_key: str
    encoder: RegisteredEncoder | None  # None when not registered
    model: object | None = None  # the trained student in memory; None when a version was reused
    train: TrainResult | None = None
    decision: PromotionDecision | None = None
    dev_metrics: dict[str, float] = field(default_factory=dict)
    merge: MergeChoice | None = None  # the share kept and every share's dev score; None when reused


def distill(examples: Sequence[TrainExample], config: TrainConfig, base_model, tracking: Tracking,
            evaluate_dev: Callable[[object], dict[str, float]] | None = None, promotion_metric: str = "map",
            on_step: Callable[[int, int], None] | None = None, show_progress: bool = True,
            screen_dev: Callable[[object], dict[str, float]] | None = None) -> DistillResult:
    """Train `base_model` (in place) on `examples` unless a registered version had the same inputs.
    `screen_dev`, where given, scores the merge shares (a cheaper dev score: evaluation.screen); the kept
    share, the base and the champion are scored by `evaluate_dev`."""
    code = training_code_digest()
    key = training_key(examples, config, weights_digest(base_model), code)
    if tracking.register:
        existing = find_version(tracking.client, tracking.domain, "training_key", key)
        if existing is not None:
            metrics = tracking.client.get_run(existing.run_id).data.metrics
            dev = {k.removeprefix("dev_").replace("_at_", "@"): v for k, v in metrics.items() if k.startswith("dev_")}
            encoder = RegisteredEncoder(f"models:/{model_name(tracking.domain)}/{existing.version}",
                                        str(existing.version), existing.run_id, config.max_seq_length, True, dev)
            return DistillResult(existing.run_id, key, encoder, dev_metrics=dev)
    tags = {"domain": tracking.domain, "training_code": code, "git_commit": git_commit(),
            "training_key": key, "objective": config.objective, **tracking.tags}
    exp = experiment_id(tracking.experiment or experiment_name(tracking.domain), tracking.artifact_root)
    if tracking.parent_run_id:
        tags["mlflow.parentRunId"] = tracking.parent_run_id  # nested under it (also when it is not active here)
    total_steps = config.epochs * -(-len(examples) // config.batch_queries)
    with mlflow.start_run(experiment_id=exp, run_name=f"{tracking.domain}-{config.objective}", tags=tags,
                          nested=tracking.parent_run_id is not None) as run:
        mlflow.log_params({**asdict(config), "train_queries": len(examples),
                           "candidates_k": max((len(ex.passage_ids) for ex in examples), default=0)})
        if tracking.dataset is not None:
            log_dataset(tracking.domain, *tracking.dataset)

        def log_step(step: int, values: dict) -> None:
            mlflow.log_metrics({"train_loss": values["loss"], "lr": values["lr"]}, step=step)
            if on_step:
                on_step(step, total_steps)

        # What the user has without this training: the base encoder on the same dev questions (scored before
        # training changes it in place); a version that does not beat it is registered but never champion.
        base_dev = evaluate_dev(base_model) if tracking.register and evaluate_dev is not None else {}
        if promotion_metric in base_dev:
            mlflow.log_metric(f"base_dev_{promotion_metric.replace('@', '_at_')}", base_dev[promotion_metric])
        try:
            result, merge = train_and_merge(base_model, examples, config, evaluate_dev, screen_dev, on_step=log_step,
                                            show_progress=show_progress)
        except NonFiniteLossError as exc:  # the run ends FAILED (start_run's exit), registering nothing
            mlflow.set_tag("failure", str(exc)[:5000])
            raise
        except BaseException as exc:  # Ctrl-C (KeyboardInterrupt, or the orchestrator's own interruption)
            if not isinstance(exc, Exception):
                mlflow.end_run("KILLED")  # stopped by the user, as `uae runs` and the UI should say; not FAILED
            raise
        for epoch, loss in enumerate(result.epoch_losses):
            mlflow.log_metric("epoch_loss", loss, step=epoch)
        dev = merge.dev_metrics
        mlflow.log_metrics({f"dev_{k.replace('@', '_at_')}": v for k, v in dev.items()})
        log_merge(merge)
        out = DistillResult(run.info.run_id, key, None, base_model, result, dev_metrics=dev, merge=merge)
        if tracking.register:
            champion_score = _champion_on_dev(tracking, evaluate_dev, promotion_metric)
            version = register_version(tracking.client, tracking.domain, log_student(base_model), run.info.run_id,
                                       tags=tags)
            out.decision = promote_if_better(tracking.client, tracking.domain, version, promotion_metric,
                                             dev.get(promotion_metric, 0.0), champion_score,
                                             base_score=base_dev.get(promotion_metric))
            mlflow.set_tags({"promotion": out.decision.describe(), "promoted": str(out.decision.promoted),
                             "model_version": version})
            out.encoder = RegisteredEncoder(f"models:/{model_name(tracking.domain)}/{version}", version,
                                            run.info.run_id, config.max_seq_length, False, dev)
    return out


def log_merge(merge: MergeChoice) -> None:
    """The kept share as metric `merge_share`; each share's dev score as `merge_dev_score` at step 100 * share
    (a curve in the MLflow UI), or `merge_screen_score` where the shares were scored on a pool of passages
    (evaluation.screen: comparable between shares, not with the whole-corpus dev metrics)."""
    mlflow.log_metric("merge_share", merge.share)
    name = "merge_screen_score" if merge.screened else "merge_dev_score"
    for share, score in merge.scores.items():
        if score is not None:
            mlflow.log_metric(name, score, step=round(share * 100))


def _champion_on_dev(tracking: Tracking, evaluate_dev, metric: str) -> float | None:
    """The current champion's score on the same dev questions as the new version (None: no champion)."""
    uri = champion_uri(tracking.client, tracking.domain)
    if uri is None or evaluate_dev is None or tracking.model_cache is None:
        return None
    from uae_core.retrieval.encoder import load_student

    champion = load_student(str(local_copy(uri, tracking.model_cache)), base_max_seq_length(uri, tracking))
    return evaluate_dev(champion).get(metric)


def base_max_seq_length(uri: str, tracking: Tracking) -> int:
    """The champion's max_seq_length, from its run's params (256 if it did not record one)."""
    version = tracking.client.get_model_version(model_name(tracking.domain), uri.rsplit("/", 1)[1])
    return int(tracking.client.get_run(version.run_id).data.params.get("max_seq_length", 256))
