"""uae_encoder -> faiss_index: distill the labels into the student, register it, index the domain."""

import json
import time

import mlflow
from dagster import AssetExecutionContext, MetadataValue, Output, asset

from uae_assets.assets.common import (domain_of, domain_partitions, eager, load_registered_student,
                                      progress_logger)
from uae_assets.config import config_from_dataclass
from uae_assets.resources import LabelStoreResource, MLflowResource, Storage, StudentResource
from uae_core import tracking
from uae_core.candidates import CandidateSet
from uae_core.encoder import cached_encode, load_student
from uae_core.evaluation import dense_system, run_system
from uae_core.index import build_index, save_index
from uae_core.qasper import Passage, Query
from uae_core.models import student_fingerprint
from uae_core.training import TrainConfig, build_examples, train_student, training_key


TrainingConfig = config_from_dataclass(
    "TrainingConfig", TrainConfig, "Training knobs (uae_core.training.TrainConfig) and the promotion metric.",
    promotion_metric=(str, "map"))  # dev-split metric that decides the `champion` alias


def passage_embeddings(model, passages: list[Passage], storage: Storage, key: str):
    return cached_encode(model, [p.text for p in passages], storage.path("cache", "embeddings"), model_key=key,
                         show_progress=True)


UAE_ENCODER_CODE_VERSION = "1"  # bump when training or registration logic changes


@asset(partitions_def=domain_partitions, group_name="model", code_version=UAE_ENCODER_CODE_VERSION, pool="mlflow",
       automation_condition=eager)
def uae_encoder(context: AssetExecutionContext, config: TrainingConfig, raw_corpus: dict,
                candidate_sets: list[CandidateSet], utility_labels: dict, passages: list[Passage],
                queries: list[Query], student: StudentResource, labels: LabelStoreResource,
                mlflow_store: MLflowResource, storage: Storage) -> Output[dict]:
    """The fine-tuned student, logged to MLflow and registered; `champion` only if it beats it on dev.

    Training is memoised: a registered version trained on the same examples, config, base model and code
    (tag `training_key`) is reused, so a re-run with nothing changed trains nothing."""
    domain = domain_of(context)
    train_config = TrainConfig(**config.model_dump(exclude={"promotion_metric"}))
    with labels.open(read_only=True) as store:
        utilities = store.utilities(utility_labels["teacher_id"], utility_labels["query_ids"])
    examples = build_examples(candidate_sets, utilities, {q.query_id: q for q in queries},
                              {p.passage_id: p for p in passages})
    key = training_key(examples, train_config, student_fingerprint(student.model), UAE_ENCODER_CODE_VERSION)
    client = mlflow_store.client()
    existing = tracking.find_version(client, domain.name, "training_key", key)
    if existing is not None:
        context.log.info(f"reusing v{existing.version}: same examples, config, base model and code")
        uri = f"models:/{tracking.model_name(domain.name)}/{existing.version}"
        return Output({"model_uri": uri, "run_id": existing.run_id, "version": str(existing.version),
                       "max_seq_length": config.max_seq_length},
                      metadata={"mlflow_run_id": existing.run_id, "model_version": str(existing.version),
                                "model_uri": uri, "reused": True, "training_key": key,
                                "train_queries": len(examples)})
    tags = {"domain": domain.name, "data_version": raw_corpus["sha256"][:16],
            "teacher_id": utility_labels["teacher_id"], "code_version": UAE_ENCODER_CODE_VERSION,
            "git_commit": tracking.git_commit(), "dagster_run_id": context.run_id, "base_model": student.model,
            "training_key": key, "objective": config.objective}
    model = load_student(student.model, config.max_seq_length)
    with mlflow.start_run(experiment_id=tracking.experiment_id(domain.name, mlflow_store.artifacts()),
                          run_name=f"{domain.name}-{config.objective}", tags=tags) as run:
        mlflow.log_params({**train_config.__dict__, "train_queries": len(examples),
                           "candidates_k": max((len(c.passage_ids) for c in candidate_sets), default=0)})
        log_step = progress_logger(context, "training steps")
        total_steps = config.epochs * -(-len(examples) // config.batch_queries)

        def on_step(step: int, values: dict) -> None:
            mlflow.log_metrics({"train_loss": values["loss"], "lr": values["lr"]}, step=step)
            log_step(step, total_steps)

        result = train_student(model, examples, train_config, on_step=on_step)
        for epoch, loss in enumerate(result.epoch_losses):
            mlflow.log_metric("epoch_loss", loss, step=epoch)
        emb = passage_embeddings(model, passages, storage, key=f"run-{run.info.run_id}")
        dev = [q for q in queries if q.split == "dev" and q.gold_passage_ids]
        dev_metrics = run_system(dense_system(model, build_index(emb)), passages, dev, domain.scope,
                                 latency_queries=0).metrics if dev else {}
        mlflow.log_metrics({f"dev_{k.replace('@', '_at_')}": v for k, v in dev_metrics.items()})
        tracking.log_student(model)
        version = tracking.register_version(client, domain.name, run.info.run_id, tags=tags)
        decision = tracking.promote_if_better(client, domain.name, version, config.promotion_metric,
                                              dev_metrics.get(config.promotion_metric, 0.0))
        mlflow.set_tags({"promotion": decision.describe(), "promoted": str(decision.promoted),
                         "model_version": version})
    context.log.info(decision.describe())
    uri = f"models:/{tracking.model_name(domain.name)}/{version}"
    return Output({"model_uri": uri, "run_id": run.info.run_id, "version": version,
                   "max_seq_length": config.max_seq_length},
                  metadata={"mlflow_run_id": run.info.run_id, "model_version": version, "model_uri": uri,
                            "reused": False, "training_key": key,
                            "train_queries": len(examples), "steps": result.steps,
                            "train_seconds": round(result.seconds, 1),
                            "final_epoch_loss": round(result.epoch_losses[-1], 5),
                            **{f"dev_{k}": round(v, 4) for k, v in dev_metrics.items()},
                            "promoted_to_champion": decision.promoted, "promotion": decision.describe(),
                            "champion_dev_score": decision.champion_score if decision.champion_score is not None
                            else decision.score})


@asset(partitions_def=domain_partitions, group_name="model", code_version="1", automation_condition=eager)
def faiss_index(context: AssetExecutionContext, uae_encoder: dict, passages: list[Passage],
                mlflow_store: MLflowResource, storage: Storage) -> Output[dict]:
    """Every passage of the domain embedded by the registered version, in an exact inner-product index."""
    started = time.perf_counter()
    mlflow_store.client()
    model = load_registered_student(uae_encoder["model_uri"], storage, uae_encoder["max_seq_length"])
    emb = passage_embeddings(model, passages, storage, key=f"run-{uae_encoder['run_id']}")
    path = save_index(build_index(emb), storage.path("indexes", domain_of(context).name,
                                                     f"v{uae_encoder['version']}.faiss"))
    (path.with_suffix(".json")).write_text(json.dumps({"model_uri": uae_encoder["model_uri"],
                                                       "passage_ids": [p.passage_id for p in passages]}))
    return Output({**uae_encoder, "index_path": str(path)},
                  metadata={"path": MetadataValue.path(str(path)), "passages": len(passages), "dim": emb.shape[1],
                            "model_uri": uae_encoder["model_uri"], "seconds": round(time.perf_counter() - started, 2)})
