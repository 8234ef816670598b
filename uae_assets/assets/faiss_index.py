"""faiss_index: the domain's retriever for the registered version: FAISS index, passages, BM25, and the
hybrid fusion chosen on the dev split and the train questions of documents the student never trained on."""

from dagster import AssetExecutionContext, MetadataValue, Output, asset

from uae_assets import checks
from uae_assets.assets.common import domain_of, domain_partitions, eager, load_registered
from uae_assets.resources import MLflowResource, Storage, StudentResource
from uae_core.data import Passage, Query
from uae_core.labeling.candidates import CandidateSet
from uae_core.pipeline import build_retriever
from uae_core.retrieval.fusion import MIN_TUNING_QUESTIONS
from uae_core.retrieval.index import load_index
from uae_core.retrieval.retriever import save_retriever
from uae_core.tracking.registry import RegisteredEncoder, champion_uri
from uae_core.tracking.runs import log_decided


@asset(partitions_def=domain_partitions, group_name="model", code_version="5", automation_condition=eager,
       kinds={"faiss"}, check_specs=checks.FAISS_INDEX)
def faiss_index(context: AssetExecutionContext, uae_encoder: RegisteredEncoder, passages: list[Passage],
                queries: list[Query], candidate_sets: list[CandidateSet], student: StudentResource,
                mlflow_store: MLflowResource, storage: Storage):
    """Every passage embedded by the registered version (exact inner product), the passages and a BM25
    index beside it, and the weight of UAE vs BM25 in the hybrid system, chosen on the dev split plus the
    train questions from documents no candidate set (training question) came from. While the domain has no
    champion (no version beat the base encoder on dev), the free hybrid's retriever too (`base/`): what
    `uae search` serves then."""
    domain = domain_of(context)
    model = load_registered(uae_encoder, mlflow_store, storage)
    trained = [s.query_id for s in candidate_sets]
    cache = storage.folder("cache", "embeddings")
    client = mlflow_store.client()
    if champion_uri(client, domain.name) is None:
        why = client.get_run(uae_encoder.run_id).data.tags.get("promotion", "no version is champion")
        base = build_retriever(student.load(), passages, queries, domain.scope, trained, cache)
        save_retriever(storage.path("indexes", domain.name, "base"), base.embeddings, passages, student.model,
                       base.fusion, base.bm25_index, extra={"served_because": why})
        context.log.warning(f"{why}: saved the free hybrid (BM25 + the base encoder) as the domain's retriever")
    built = build_retriever(model, passages, queries, domain.scope, trained, cache, show_progress=True)
    fusion, dev_score, tuning = built.fusion, built.dev_score, built.tuning
    files = save_retriever(storage.path("indexes", domain.name, f"v{uae_encoder.version}"), built.embeddings,
                           passages, uae_encoder.model_uri, fusion, built.bm25_index,
                           extra={"dev_hybrid_score": dev_score})
    log_decided(uae_encoder.run_id, {"fusion_method": fusion.method, "fusion_dense_weight": fusion.dense_weight,
                                    "fusion_k": fusion.k})
    dev = sum(q.split == "dev" for q in tuning)
    unseen = f" + {len(tuning) - dev} train questions of documents it never trained on" if len(tuning) > dev else ""
    context.log.info(f"hybrid: {fusion.method} fusion, UAE weight {fusion.dense_weight} " + (
        f"(mean of R@1 and MAP {dev_score:.4f} on {dev} dev questions{unseen})" if dev_score == dev_score else
        f"(the untuned default: {len(tuning)} tuning questions, fewer than {MIN_TUNING_QUESTIONS})"))
    yield Output(files, metadata={"folder": MetadataValue.path(files.folder),
                                  "index_path": MetadataValue.path(files.index_path),
                                  "dagster/row_count": files.passages, "dim": files.dim,
                                  "fusion_method": fusion.method, "fusion_dense_weight": fusion.dense_weight,
                                  "fusion_k": fusion.k, "fusion_tuning_questions": len(tuning),
                                  "fusion_tuned": dev_score == dev_score,
                                  "dev_hybrid_score": round(dev_score, 4), "model_uri": uae_encoder.model_uri})
    yield checks.index_check(load_index(files.index_path).ntotal, len(passages))
