"""Jobs: the whole chain for one domain partition, and the evaluation of any encoder on any file."""

from pathlib import Path

from dagster import (AssetSelection, Config, MetadataValue, OpExecutionContext, define_asset_job,
                     in_process_executor, job, op)

from uae_assets.assets.common import domain_partitions
from uae_assets.resources import MLflowResource, Storage
from uae_core.evaluate_model import evaluate_encoder
from uae_core.evaluation import to_markdown

uae_pipeline = define_asset_job("uae_pipeline", selection=AssetSelection.all() - AssetSelection.keys(
    "domain_file", "teacher_model"), partitions_def=domain_partitions,
    description="Materialize the whole UAE chain for one domain.")


class EvaluateModelConfig(Config):
    model: str = "models:/uae-encoder-qasper@champion"  # or models:/NAME/VERSION, a directory, a HF id, "base"
    data: str = ""  # a QASPER-layout JSON file
    scope: str = "corpus"
    split: str = "test"  # train | dev | test | all
    out: str = ""  # default data/reports/evaluate/<file stem>


@op(description="BM25, the base encoder and the given encoder on the given file; same report format.")
def evaluate_model_op(context: OpExecutionContext, config: EvaluateModelConfig, mlflow_store: MLflowResource,
                      storage: Storage) -> dict:
    if not config.data:
        raise ValueError("evaluate_model needs `data`: the path of a QASPER-layout JSON file")
    mlflow_store.client()
    out = Path(config.out) if config.out else storage.path("reports", "evaluate", Path(config.data).stem, "x").parent
    report = evaluate_encoder(config.model, config.data, config.scope, out, config.split,
                              cache_dir=storage.path("cache", "x").parent)
    context.add_output_metadata({"report_json": MetadataValue.path(str(out / "eval_report.json")),
                                 "metrics": MetadataValue.md(to_markdown(report, config.model)),
                                 "queries": report["n_queries"]})
    return report


@job(executor_def=in_process_executor, description="Evaluate a registered version (or any encoder) on any "
                                                   "QASPER-layout file and scope, without retraining.")
def evaluate_model():
    evaluate_model_op()
