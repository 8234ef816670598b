"""eval_report: BM25, the base encoder and UAE side by side on held-out questions, logged to MLflow."""

import time
from dataclasses import replace

from dagster import AssetExecutionContext, MetadataValue, Output, asset

from uae_assets.assets.common import domain_of, domain_partitions, eager, load_registered, with_domain_settings
from uae_assets.config import config_from_dataclass, to_dataclass
from uae_assets.resources import MLflowResource, Storage, StudentResource, TeacherResource
from uae_core.data import Passage, Query
from uae_core.evaluation.compare import EvalConfig, compare, held_out
from uae_core.evaluation.report import to_markdown, write_report
from uae_core.labeling.candidates import CandidateSet
from uae_core.retrieval.index import load_index
from uae_core.retrieval.retriever import RetrieverFiles
from uae_core.tracking.registry import RegisteredEncoder, champion_uri
from uae_core.tracking.runs import log_report

EvalReportConfig = config_from_dataclass("EvalReportConfig", EvalConfig)


@asset(partitions_def=domain_partitions, group_name="evaluation", code_version="3", pool="mlflow",
       automation_condition=eager, kinds={"mlflow"})
def eval_report(context: AssetExecutionContext, config: EvalReportConfig, uae_encoder: RegisteredEncoder,
                faiss_index: RetrieverFiles, passages: list[Passage], queries: list[Query],
                candidate_sets: list[CandidateSet], student: StudentResource,
                mlflow_store: MLflowResource, storage: Storage, teacher: TeacherResource) -> Output[dict]:
    """Metrics for every system on the same held-out questions and passages; JSON + Markdown."""
    started = time.perf_counter()
    domain = domain_of(context)
    config, settings = with_domain_settings(context, config, "eval_report")
    cfg = to_dataclass(config, EvalConfig)
    scope = cfg.scope or domain.scope
    try:
        evaluated = held_out(queries, cfg)
    except ValueError as exc:
        raise ValueError(f"domain {domain.name!r}: {exc} (eval_report's `split`)") from None
    needs_teacher = cfg.llm_rerank_depth > 0 or cfg.answer_top_k
    # hybrid_base (BM25 + the base encoder, tuned on the same questions as UAE's) is what users could have
    # without UAE.
    encoders = {"uae": load_registered(uae_encoder, mlflow_store, storage)}
    if uae_encoder.compared_with:  # a re-distillation round: the champion it was measured against, on test too
        previous = replace(uae_encoder, model_uri=uae_encoder.compared_with)
        encoders["previous_champion"] = load_registered(previous, mlflow_store, storage)
    report = compare(passages, evaluated, scope, student.load(), encoders,
                     storage.folder("cache", "embeddings"),
                     cfg, teacher.load() if needs_teacher else None,
                     indexes={"uae": load_index(faiss_index.index_path)},
                     fusions={"uae": faiss_index.fusion, "base": None}, tune_on=queries,
                     trained=[s.query_id for s in candidate_sets])
    client = mlflow_store.client()
    champion = champion_uri(client, domain.name)
    served = ("hybrid" if champion == uae_encoder.model_uri else "hybrid_base" if champion is None
              else f"the champion's hybrid ({champion})")
    report.update({"domain": domain.name, "split": cfg.split, "model_uri": uae_encoder.model_uri,
                   "previous_champion": uae_encoder.compared_with,
                   "served": {"system": served,
                              "why": client.get_run(uae_encoder.run_id).data.tags.get("promotion", "")},
                   "mlflow_run_id": uae_encoder.run_id, "base_model": student.model,
                   "seconds": round(time.perf_counter() - started, 2)})
    paths = write_report(report, storage.folder("reports", domain.name),
                         f"UAE evaluation: {domain.name} ({cfg.split} split)")
    log_report(uae_encoder.run_id, report, cfg.split, paths)
    return Output(report, metadata={
        "report_json": MetadataValue.path(str(paths[0])), "report_md": MetadataValue.path(str(paths[1])),
        "metrics": MetadataValue.md(to_markdown(report, f"{domain.name}: {cfg.split}")),
        "queries": report["n_queries"], "seconds": report["seconds"],
        **{f"{system}_{m}": round(report["systems"][system][m], 4)
           for system in ("uae", "hybrid", "base", "bm25") for m in ("success@1", "map")}, **settings})
