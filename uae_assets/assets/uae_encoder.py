"""uae_encoder: the student distilled from the labels, logged to MLflow and registered."""

from dataclasses import replace

from dagster import AssetExecutionContext, MetadataValue, Output, asset
from pydantic import Field

from uae_assets import checks
from uae_assets.assets.common import domain_of, domain_partitions, eager, progress_logger, with_domain_settings
from uae_assets.config import config_from_dataclass, to_dataclass
from uae_assets.resources import MLflowResource, Storage, StudentResource
from uae_core.data import Passage, Query, SourceFile
from uae_core.evaluation.compare import dev_metrics
from uae_core.evaluation.screen import describe_pool, merge_pool, screen_metrics
from uae_core.labeling.candidates import CandidateSet
from uae_core.labeling.label_store import LabelSet
from uae_core.tracking.distill import Tracking, distill
from uae_core.tracking.registry import champion_standing, model_name
from uae_core.training.examples import build_examples
from uae_core.training.trainer import TrainConfig

TrainingConfig = config_from_dataclass(
    "TrainingConfig", TrainConfig,
    promotion_metric=(str, Field(default="map", description="Dev-split metric that decides the `champion` alias.")),
    block_if_worse=(bool, Field(default=True, description="A version worse than the champion on dev fails the "
                                "blocking check not_worse_than_champion: no index and no report are built for it.")))


@asset(partitions_def=domain_partitions, group_name="model", code_version="3", pool="mlflow",
       automation_condition=eager, kinds={"pytorch", "mlflow"}, check_specs=checks.UAE_ENCODER)
def uae_encoder(context: AssetExecutionContext, config: TrainingConfig, raw_corpus: SourceFile,
                candidate_sets: list[CandidateSet], utility_labels: LabelSet, passages: list[Passage],
                queries: list[Query], student: StudentResource, mlflow_store: MLflowResource, storage: Storage):
    """The fine-tuned student, merged back toward its base by the share best on dev, registered in MLflow;
    `champion` only if it beats it on dev. A registered version trained on the same examples, config, base
    model and code is reused (nothing retrained)."""
    domain = domain_of(context)
    config, settings = with_domain_settings(context, config, "uae_encoder")
    train_config = to_dataclass(config, TrainConfig)
    examples = build_examples(candidate_sets, utility_labels.utilities, {q.query_id: q for q in queries},
                              {p.passage_id: p for p in passages})
    client = mlflow_store.client()
    tracking = Tracking(client, domain.name, mlflow_store.artifacts(), tags={
        "data_version": raw_corpus.sha256[:16], "teacher_id": utility_labels.teacher_id,
        "dagster_run_id": context.run_id, "base_model": student.model, "label_policy": utility_labels.policy,
        "labeled_pairs": str(sum(len(u) for u in utility_labels.utilities.values()))},
        dataset=(raw_corpus.path, raw_corpus.sha256), model_cache=str(storage.folder("models", "registry")))
    cache = storage.folder("cache", "embeddings")
    base = student.load()
    # where a pool of passages is small against the corpus, the merge shares are told apart on it
    pool = merge_pool(passages, queries, domain.scope, base, cache, len(train_config.merge_shares))
    if pool:
        context.log.info(f"merge shares {list(train_config.merge_shares)}: scored on a pool of {len(pool)} of the "
                         f"{len(passages)} passages ({describe_pool(domain.scope)}), the kept one on all")
    result = distill(examples, train_config, base, tracking,
                     evaluate_dev=lambda model: dev_metrics(model, passages, queries, domain.scope, cache),
                     screen_dev=(lambda model: screen_metrics(model, pool, queries, domain.scope, cache)) if pool
                     else None,
                     promotion_metric=config.promotion_metric, on_step=progress_logger(context, "training steps"))
    encoder = result.encoder
    if result.decision is not None and result.decision.champion_version is not None:
        champion_uri = f"models:/{model_name(domain.name)}/{result.decision.champion_version}"
        encoder = replace(encoder, compared_with=champion_uri)
    context.log.info(f"reusing v{encoder.version}: same examples, config, base model and code" if encoder.reused
                     else result.decision.describe())
    is_champion, champion_score = champion_standing(client, domain.name, encoder.version, config.promotion_metric)
    if result.decision is not None and result.decision.champion_score is not None:
        champion_score = result.decision.champion_score  # measured on today's dev questions
    run = client.get_run(encoder.run_id)
    metadata = {"model_version": encoder.version, "model_uri": encoder.model_uri, "reused": encoder.reused,
                "mlflow_run": MetadataValue.url(mlflow_store.run_link(run.info.experiment_id, encoder.run_id)),
                "mlflow_experiment": MetadataValue.url(mlflow_store.experiment_link(run.info.experiment_id)),
                "mlflow_model": MetadataValue.url(mlflow_store.version_link(model_name(domain.name), encoder.version)),
                "training_key": result.training_key, "train_queries": len(examples), "champion": is_champion,
                "merge_share": run.data.metrics.get("merge_share", 0.0),
                **{f"dev_{k}": round(v, 4) for k, v in encoder.dev_metrics.items()}, **settings}
    if result.train is not None:
        metadata.update({"steps": result.train.steps,
                         "train_seconds": round(result.train.seconds, 1),
                         "final_epoch_loss": round(result.train.epoch_losses[-1], 5),
                         "promotion": result.decision.describe()})
    if result.merge is not None and len(result.merge.scores) > 1:
        metadata["merge_dev_scores"] = {f"{share:g}": None if score is None else round(score, 4)
                                        for share, score in result.merge.scores.items()}
        metadata["merge_scored_on"] = (f"a pool of {len(pool)} passages" if result.merge.screened
                                       else f"all {len(passages)} passages")
        context.log.info(f"kept merge share {result.merge.share:g} of {metadata['merge_dev_scores']} (dev score on "
                         f"{metadata['merge_scored_on']})")
    yield Output(encoder, metadata=metadata)
    yield checks.champion_check(is_champion, config.promotion_metric, encoder.dev_metrics.get(config.promotion_metric),
                                champion_score, config.block_if_worse)
