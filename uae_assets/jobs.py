"""Jobs: the whole chain for one domain partition, and the evaluation of any encoder on any file."""

from pathlib import Path

from dagster import (
    AssetSelection,
    MetadataValue,
    OpExecutionContext,
    PartitionedConfig,
    define_asset_job,
    in_process_executor,
    job,
    op,
)
from pydantic import Field

from uae_assets.assets.common import domain_partitions
from uae_assets.config import config_from_dataclass, to_dataclass
from uae_assets.domain_config import partition_run_config
from uae_assets.resources import MLflowResource, Storage
from uae_core.evaluation.compare import EvalConfig, evaluate_encoder
from uae_core.evaluation.report import to_markdown

uae_pipeline = define_asset_job("uae_pipeline", selection=AssetSelection.all() - AssetSelection.keys(
    "domain_file", "teacher_model"), partitions_def=domain_partitions,
    # A domain's run starts from its own settings (`run_config:` in domains.yaml): the launchpad shows them
    # and the re-distill schedule's runs carry them.
    config=PartitionedConfig(domain_partitions, run_config_for_partition_key_fn=partition_run_config),
    description="Materialize the whole UAE chain for one domain.")

EvaluateEncoderConfig = config_from_dataclass(
    "EvaluateEncoderConfig", EvalConfig, "Which encoder, on which file, and which questions.",
    model=(str, Field(default="models:/uae-encoder-qasper@champion",
                      description="models:/NAME/VERSION, models:/NAME@champion, a directory, a HF id, or `base`.")),
    data=(str, Field(description="The data file to evaluate on (QASPER layout).")),
    out=(str, Field(default="", description="Report folder; empty = <data dir>/reports/evaluate/<file stem>.")))


@op(description="BM25, the base encoder and the given encoder on the given file; same report format.")
def evaluate_encoder_op(context: OpExecutionContext, config: EvaluateEncoderConfig, mlflow_store: MLflowResource,
                        storage: Storage) -> dict:
    mlflow_store.client()
    out = Path(config.out) if config.out else storage.folder("reports", "evaluate", Path(config.data).stem)
    report = evaluate_encoder(config.model, config.data, out, to_dataclass(config, EvalConfig),
                              cache_dir=storage.folder("cache", "embeddings"), model_cache=storage.folder("models"))
    context.add_output_metadata({"report_json": MetadataValue.path(str(out / "eval_report.json")),
                                 "metrics": MetadataValue.md(to_markdown(report, config.model)),
                                 "queries": report["n_queries"]})
    return report


@job(name="evaluate_encoder", executor_def=in_process_executor,
     description="Evaluate a registered version (or any encoder) on any file, "
                                                   "without retraining.")
def evaluate_encoder_job():
    evaluate_encoder_op()
