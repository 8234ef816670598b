"""eval_report: BM25, the base encoder and UAE side by side on held-out questions."""

import time

import mlflow
from dagster import AssetExecutionContext, Config, MetadataValue, Output, asset

from uae_assets.assets.common import domain_of, domain_partitions, eager, load_registered_student
from uae_assets.assets.labels import base_passage_embeddings
from uae_assets.resources import MLflowResource, Storage, StudentResource, TeacherResource
from uae_core.answering import Reader
from uae_core.evaluation import AnswerEval, bm25_system, dense_system, evaluate, to_markdown, write_report
from uae_core.index import build_index, load_index
from uae_core.metrics import METRICS
from uae_core.qasper import Passage, Query, fixed_subset
from uae_core.rerank import rerank_system, upr_teacher


class EvalConfig(Config):
    split: str = "test"  # held out from training; tune on "dev"
    scope: str = ""  # "" = the domain's scope
    llm_rerank_depth: int = 0  # n > 0 adds LLM re-ranking (UPR) of the base top-n by the teacher (slow on CPU)
    answer_top_k: list[int] = []  # e.g. [1, 3]: Token F1 of the teacher's answers from each system's top k
    max_queries: int = 0  # a fixed subset of the held-out questions (0 = all), for the slow parts on a CPU


@asset(partitions_def=domain_partitions, group_name="evaluation", code_version="1", pool="mlflow",
       automation_condition=eager)
def eval_report(context: AssetExecutionContext, config: EvalConfig, faiss_index: dict, passages: list[Passage],
                queries: list[Query], student: StudentResource, mlflow_store: MLflowResource,
                storage: Storage, teacher: TeacherResource) -> Output[dict]:
    """Metrics for every system on the same queries and passages; JSON + Markdown, logged to MLflow."""
    started = time.perf_counter()
    domain = domain_of(context)
    scope = config.scope or domain.scope
    held_out = [q for q in queries if q.split == config.split]
    if not any(q.gold_passage_ids for q in held_out):
        raise ValueError(f"domain {domain.name!r}: the {config.split!r} split has {len(held_out)} questions, none "
                         "with gold evidence, so there is nothing to evaluate (a small domain can have an empty "
                         "split: add papers, or set eval_report's `split`)")
    held_out = fixed_subset([q for q in held_out if q.gold_passage_ids], config.max_queries)
    base_model, base_emb = base_passage_embeddings(student, storage, passages)
    mlflow_store.client()
    uae_model = load_registered_student(faiss_index["model_uri"], storage, faiss_index["max_seq_length"])
    systems = {"bm25": bm25_system(passages),
               "base": dense_system(base_model, build_index(base_emb)),
               "uae": dense_system(uae_model, load_index(faiss_index["index_path"]))}
    if config.llm_rerank_depth > 0:
        systems["llm_rerank"] = rerank_system(systems["base"], upr_teacher(teacher.load()), passages,
                                              config.llm_rerank_depth)
    answers = AnswerEval(Reader(teacher.load()), config.answer_top_k) if config.answer_top_k else None
    report = evaluate(systems, passages, held_out, scope, baseline="base", answers=answers)
    report.update({"domain": domain.name, "split": config.split, "model_uri": faiss_index["model_uri"],
                   "mlflow_run_id": faiss_index["run_id"], "base_model": student.model,
                   "seconds": round(time.perf_counter() - started, 2)})
    json_path, md_path = write_report(report, storage.path("reports", domain.name, "x").parent,
                                      f"UAE evaluation: {domain.name} ({config.split} split)")
    with mlflow.start_run(run_id=faiss_index["run_id"]):
        for system, values in report["systems"].items():
            mlflow.log_metrics({f"{config.split}_{system}_{m.replace('@', '_at_')}": values[m]
                                for m in report["metrics"]})
        mlflow.log_artifact(str(json_path), artifact_path="eval")
        mlflow.log_artifact(str(md_path), artifact_path="eval")
    uae, base = report["systems"]["uae"], report["systems"]["base"]
    return Output(report, metadata={
        "report_json": MetadataValue.path(str(json_path)), "report_md": MetadataValue.path(str(md_path)),
        "metrics": MetadataValue.md(to_markdown(report, f"{domain.name}: {config.split}")),
        "queries": report["n_queries"], "uae_recall@1": round(uae["recall@1"], 4), "uae_map": round(uae["map"], 4),
        "base_recall@1": round(base["recall@1"], 4), "base_map": round(base["map"], 4),
        "seconds": report["seconds"]})
