"""candidate_sets -> utility_labels: what the teacher is asked about, and its answers in DuckDB."""

import json
import statistics
import time

from dagster import AssetExecutionContext, Config, MetadataValue, Output, asset

from uae_assets.assets.common import domain_of, domain_partitions, eager, progress_logger
from uae_assets.assets.sources import teacher_model
from uae_assets.resources import LabelStoreResource, Storage, StudentResource, TeacherResource
from uae_core.candidates import (CandidateSet, build_candidate_sets, gold_recall, select_train_queries, snapshot,
                                 still_valid)
from uae_core.encoder import cached_encode, encode, load_student
from uae_core.models import student_fingerprint
from uae_core.qasper import Passage, Query
from uae_core.utility import label_candidates


class CandidateConfig(Config):
    k: int = 8
    sources: list[str] = ["bm25", "dense"]
    scope: str = ""  # "" = the domain's scope from domains.yaml
    max_train_queries: int = 200  # 0 = every train query; the cap keeps the default run under 30 minutes
    sticky: bool = True  # keep a question's previous set while its question and passages are unchanged


def base_passage_embeddings(student: StudentResource, storage: Storage, passages: list[Passage]):
    model = load_student(student.model, student.max_seq_length)
    emb = cached_encode(model, [p.text for p in passages], storage.path("cache", "embeddings"),
                        model_key=f"base-{student_fingerprint(student.model)}", show_progress=True)
    return model, emb


@asset(partitions_def=domain_partitions, group_name="labels", code_version="1", automation_condition=eager)
def candidate_sets(context: AssetExecutionContext, config: CandidateConfig, passages: list[Passage],
                   queries: list[Query], student: StudentResource, storage: Storage) -> Output[list[CandidateSet]]:
    """Top-K passages per train query from BM25 and the base encoder, merged, inside the scope.
    Sticky: a question whose text and candidate passages are unchanged keeps its previous set."""
    started = time.perf_counter()
    scope = config.scope or domain_of(context).scope
    train = select_train_queries(queries, config.max_train_queries)
    by_id = {p.passage_id: p for p in passages}
    settings = {"k": config.k, "scope": scope, "sources": list(config.sources),
                "base": student_fingerprint(student.model)}
    state = storage.path("candidates", f"{context.partition_key}.json")
    previous = json.loads(state.read_text()) if config.sticky and state.is_file() else {}
    old_sets = previous.get("sets", {}) if previous.get("settings") == settings else {}
    kept = still_valid(old_sets, train, by_id)
    todo = [q for q in train if q.query_id not in kept]
    fresh: dict[str, CandidateSet] = {}
    if todo:
        model, passage_emb = base_passage_embeddings(student, storage, passages)
        query_emb = encode(model, [q.question for q in todo])
        fresh = {c.query_id: c for c in build_candidate_sets(passages, todo, config.k, scope, passage_emb,
                                                             query_emb, config.sources)}
    sets = [kept.get(q.query_id) or fresh[q.query_id] for q in train]
    # Sets of questions that dropped out of the cap are kept too: they are reusable if they come back.
    new_state = {**old_sets, **snapshot(sets, {q.query_id: q for q in train}, by_id)}
    state.write_text(json.dumps({"settings": settings, "sets": new_state}))
    recall = gold_recall(sets, train)
    context.log.info(f"{len(sets)} candidate sets of up to {config.k} ({len(kept)} kept, {len(fresh)} new); gold "
                     f"evidence among them for {recall:.1%} of the queries that have gold")
    return Output(sets, metadata={"queries": len(sets), "k": config.k, "scope": scope,
                                  "sources": ",".join(config.sources), "pairs": sum(len(s.passage_ids) for s in sets),
                                  "sets_kept": len(kept), "sets_new": len(fresh),
                                  "gold_in_candidates": round(recall, 4),
                                  "seconds": round(time.perf_counter() - started, 2)})


class LabelingConfig(Config):
    chunk_pairs: int = 32  # pairs per committed DuckDB chunk: the most a crash can lose


@asset(partitions_def=domain_partitions, group_name="labels", code_version="1", pool="duckdb",
       deps=[teacher_model], automation_condition=eager)
def utility_labels(context: AssetExecutionContext, config: LabelingConfig, candidate_sets: list[CandidateSet],
                   passages: list[Passage], queries: list[Query], teacher: TeacherResource,
                   labels: LabelStoreResource) -> Output[dict]:
    """Teacher utility of every candidate, stored in DuckDB; only missing keys are computed."""
    model = teacher.load()
    with labels.open() as store:
        store.register_teacher(model.teacher_id, teacher.config_json())
        stats = label_candidates(model, store, candidate_sets, {q.query_id: q for q in queries},
                                 {p.passage_id: p for p in passages}, teacher.answer_policy, config.chunk_pairs,
                                 progress=progress_logger(context, "utility labels"))
        wanted = [c.query_id for c in candidate_sets]
        utilities = store.utilities(model.teacher_id, wanted)
        stored_total = store.count()
    values = [u for per_q in utilities.values() for u in per_q.values()]
    best = [max(per_q.values()) for per_q in utilities.values() if per_q]
    summary = {"teacher_id": model.teacher_id, "db_path": str(labels.db_path()), "query_ids": wanted}
    return Output(summary, metadata={
        "teacher_id": model.teacher_id, "db_path": MetadataValue.path(str(labels.db_path())),
        **{k: (round(v, 3) if isinstance(v, float) else v) for k, v in stats.as_dict().items()},
        "labels_in_store": stored_total, "teacher_loaded": model.loaded,
        "utility_mean": round(statistics.fmean(values), 4) if values else 0.0,
        "queries_with_helpful_passage": sum(b > 0 for b in best)})
