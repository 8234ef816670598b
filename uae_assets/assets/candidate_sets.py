"""candidate_sets: the passages the teacher is asked about, per train question."""

import time

from dagster import AssetExecutionContext, Output, asset

from uae_assets import checks
from uae_assets.assets.common import domain_of, domain_partitions, eager, load_registered, with_domain_settings
from uae_assets.config import config_from_dataclass, to_dataclass
from uae_assets.resources import MLflowResource, Storage, StudentResource
from uae_core.data import Passage, Query
from uae_core.labeling.candidates import CandidateConfig, build_sticky
from uae_core.tracking.registry import champion_encoder

CandidateSetsConfig = config_from_dataclass("CandidateSetsConfig", CandidateConfig)


@asset(partitions_def=domain_partitions, group_name="labels", code_version="3", automation_condition=eager,
       kinds={"python"}, check_specs=checks.CANDIDATE_SETS)
def candidate_sets(context: AssetExecutionContext, config: CandidateSetsConfig, passages: list[Passage],
                   queries: list[Query], student: StudentResource, mlflow_store: MLflowResource, storage: Storage):
    """Top-K passages per train question from BM25 and the base encoder (CandidateConfig.sources), merged,
    inside the scope; with the `champion` source (the re-distill schedule's rounds), the domain's champion
    adds the passages it ranks highest on top.
    Sticky: a question whose text and candidate passages are unchanged keeps its previous set."""
    started = time.perf_counter()
    config, settings = with_domain_settings(context, config, "candidate_sets")
    cfg = to_dataclass(config, CandidateConfig)
    domain = domain_of(context)
    scope = cfg.scope or domain.scope
    champion = champion_encoder(mlflow_store.client(), domain.name) if "champion" in cfg.sources else None
    if "champion" in cfg.sources:
        context.log.info(f"champion source: mining with {champion.model_uri}" if champion else
                         "champion source: the domain has no champion yet, so this round mines nothing")
    result = build_sticky(passages, queries, cfg, scope, student.load(),
                          storage.path("candidates", f"{context.partition_key}.json"),
                          storage.folder("cache", "embeddings"),
                          champion=load_registered(champion, mlflow_store, storage) if champion else None)
    context.log.info(f"{len(result.sets)} candidate sets of up to {cfg.k} ({result.kept} kept, {result.new} new"
                     + (f", {result.champion_mined} passages mined by the champion" if champion else "")
                     + f"); gold evidence among them for {result.gold_recall:.1%} of the questions that have gold")
    yield Output(result.sets, metadata={
        "dagster/row_count": len(result.sets), "k": cfg.k, "scope": scope, "sources": ",".join(cfg.sources),
        "pairs": sum(len(s.passage_ids) for s in result.sets), "sets_kept": result.kept, "sets_new": result.new,
        "gold_in_candidates": round(result.gold_recall, 4), "seconds": round(time.perf_counter() - started, 2),
        "champion_mined": result.champion_mined, "champion": champion.model_uri if champion else "",
        **settings})
    yield checks.candidates_check(result.gold_recall)
