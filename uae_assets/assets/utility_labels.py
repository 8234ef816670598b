"""utility_labels: the teacher's utility of every candidate, in DuckDB; only missing keys are computed.

A graph of four steps (uae_core/labeling/shards.py has the method; its label_pairs runs the last three in
one process, for the benchmarks):

    select_label_pairs  the round's pairs (uae_core/labeling/selection.py): every labeled pair, plus the
                        unlabeled pairs of the questions the policy ranks first, within `round_pairs`; with
                        `policy: all` (the default), every candidate pair
    plan_label_shards   reads the DuckDB store once (read-only) and splits the candidate pairs into `shards`
                        by question (pool `duckdb`)
    label_shard         one step per shard, mapped over the plan: loads the teacher and writes Parquet
                        chunks, never DuckDB; with UAE_EXECUTOR=multiprocess (or k8s, one GPU pod each) the
                        shards run side by side
    merge_label_shards  the only DuckDB writer (pool `duckdb`): inserts every pending chunk in one
                        transaction, deletes them, and returns the LabelSet and its check

A killed run leaves its committed chunks; the next run's shards count them as done and its merge stores
them. `shards: 1` (the default) is one labeling step, as before.
"""

import json
import os
import statistics

from dagster import (
    AssetIn,
    Config,
    ConfigMapping,
    DynamicOut,
    DynamicOutput,
    In,
    MetadataValue,
    Nothing,
    OpExecutionContext,
    Out,
    Output,
    graph_asset,
    op,
)
from pydantic import Field

from uae_assets import checks
from uae_assets.assets.common import domain_of, domain_partitions, eager, load_registered, progress_logger
from uae_assets.config import config_from_dataclass, to_dataclass
from uae_assets.resources import LabelStoreResource, MLflowResource, Storage, StudentResource, TeacherResource
from uae_core.data import Passage, Query
from uae_core.labeling.candidates import CandidateSet
from uae_core.labeling.label_store import LabelSet
from uae_core.labeling.labeler import LabelingStats
from uae_core.labeling.selection import INFORMED, SelectionConfig, rank_questions, select_round
from uae_core.labeling.shards import ShardWork, Snapshot, candidate_utilities, label_work, merge_shards, plan_work
from uae_core.tracking.registry import champion_encoder

# The labeling steps' own pods under the k8s_job_executor (UAE_EXECUTOR=k8s, deploy/README.md): one GPU each,
# the usual GPU-node taint tolerated, the teacher on cuda. $UAE_LABELING_K8S_CONFIG (JSON, the same shape)
# replaces it, e.g. with the cluster's GPU node pool (deploy/helm/values.yaml). Every other executor ignores
# the tag. Only label_shard loads the teacher: the plan and the merge run in ordinary pods.
GPU_POD = {"container_config": {"resources": {"limits": {"nvidia.com/gpu": 1}},
                                "env": [{"name": "UAE_TEACHER_DEVICE", "value": "cuda"}]},
           "pod_spec_config": {"tolerations": [{"key": "nvidia.com/gpu", "operator": "Exists",
                                                "effect": "NoSchedule"}]}}
LABELING_K8S_CONFIG = json.loads(os.environ.get("UAE_LABELING_K8S_CONFIG") or "null") or GPU_POD


class ShardingConfig(Config):
    chunk_pairs: int = Field(default=32, ge=1, description="Pairs per committed chunk (a Parquet file of a "
                             "shard): the most a crash can lose.")
    shards: int = Field(default=1, ge=1, description="Labeling steps, each a share of the questions: with "
                        "UAE_EXECUTOR=multiprocess (or k8s) they run side by side; 1 = one step.")


RoundConfig = config_from_dataclass("RoundConfig", SelectionConfig)
# The asset's config: the round's selection and the machine's sharding.
LabelingConfig = config_from_dataclass("LabelingConfig", SelectionConfig, **{
    name: (field.annotation, field) for name, field in ShardingConfig.model_fields.items()})


def _labeling_config(values: dict) -> dict:
    """The asset's config (ops.utility_labels.config, as before it was a graph) split between the selection
    step and the plan step, which check their ranges when they start (and uae_assets/run_config.py before
    the run is launched)."""
    rounds = {k: v for k, v in values.items() if k in RoundConfig.model_fields}
    return {"select_label_pairs": {"config": rounds}, "merge_label_shards": {"config": rounds},
            "plan_label_shards": {"config": {k: v for k, v in values.items() if k not in rounds}}}


@op(pool="duckdb")
def select_label_pairs(context: OpExecutionContext, config: RoundConfig, candidate_sets: list[CandidateSet],
                       passages: list[Passage], queries: list[Query], teacher: TeacherResource,
                       labels: LabelStoreResource, student: StudentResource, mlflow_store: MLflowResource,
                       storage: Storage) -> list[CandidateSet]:
    """The round's pairs: what earlier rounds labeled, plus what the policy buys with `round_pairs`."""
    selection = to_dataclass(config, SelectionConfig)
    if selection.policy == "all":
        return candidate_sets
    labeled = Snapshot.read(labels.db_path(), teacher.teacher_id()).labeled
    encoder = None
    if selection.policy in INFORMED:
        domain = domain_of(context)
        champion = champion_encoder(mlflow_store.client(), domain.name)
        encoder = load_registered(champion, mlflow_store, storage) if champion else student.load()
        context.log.info(f"{selection.policy}: ranking questions with "
                         + (champion.model_uri if champion else "the base encoder (no champion yet)"))
    ranking = rank_questions(selection.policy, candidate_sets, passages, queries, domain_of(context).scope,
                             encoder, storage.folder("cache", "embeddings"))
    chosen = select_round(candidate_sets, labeled, ranking, selection.round_pairs)
    context.log.info(chosen.describe(selection.policy))
    return chosen.sets


@op(ins={"teacher_model": In(Nothing)}, out=DynamicOut(ShardWork), pool="duckdb")
def plan_label_shards(context: OpExecutionContext, config: ShardingConfig, candidate_sets: list[CandidateSet],
                      passages: list[Passage], queries: list[Query], teacher: TeacherResource,
                      labels: LabelStoreResource):
    """Read what DuckDB holds for the teacher once, and give each shard its questions and their rows."""
    teacher_id = teacher.teacher_id()  # no model load
    snapshot = Snapshot.read(labels.db_path(), teacher_id)
    work = plan_work(teacher_id, candidate_sets, {q.query_id: q for q in queries},
                     {p.passage_id: p for p in passages}, snapshot, config.shards, config.chunk_pairs)
    context.log.info(f"{len(candidate_sets)} questions in {len(work)} shard(s): "
                     + ", ".join(f"shard {w.index}: {w.pairs} pairs" for w in work))
    for w in work:
        yield DynamicOutput(w, mapping_key=f"shard_{w.index}")


@op(tags={"dagster-k8s/config": LABELING_K8S_CONFIG})
def label_shard(context: OpExecutionContext, work: ShardWork, teacher: TeacherResource,
                labels: LabelStoreResource) -> tuple[LabelingStats, bool]:
    """Label one shard's missing pairs into Parquet chunks; (its stats, whether the teacher was loaded)."""
    model = teacher.load()
    what = "utility labels" if work.count == 1 else f"utility labels, shard {work.index + 1} of {work.count}"
    stats = label_work(model, labels.chunks_root(), work, progress=progress_logger(context, what))
    return stats, model.loaded


@op(pool="duckdb", out={"labels": Out(LabelSet), "check": Out(Nothing)})
def merge_label_shards(context: OpExecutionContext, config: RoundConfig, candidate_sets: list[CandidateSet],
                       shards: list[tuple[LabelingStats, bool]], teacher: TeacherResource,
                       labels: LabelStoreResource):
    """Store every pending chunk in DuckDB (the run's only writer) and read the candidates' labels back."""
    teacher_id = teacher.teacher_id()
    stats = LabelingStats.combine(s for s, _ in shards)
    with labels.open() as store:
        store.register_teacher(teacher_id, teacher.config_json())
        merged = merge_shards(store, labels.chunks_root(), teacher_id)
        wanted = tuple(c.query_id for c in candidate_sets)
        utilities = store.utilities(teacher_id, wanted)
        stored_total = store.count()
    context.log.info(f"merged {merged.files} chunk files ({merged.labels} labels, {merged.baselines} baselines) "
                     f"into {labels.db_path()} in {merged.seconds:.1f}s")
    covered = candidate_utilities(utilities, candidate_sets)
    values = [u for per_q in utilities.values() for u in per_q.values()]
    best = [max(per_q.values()) for per_q in utilities.values() if per_q]
    yield Output(LabelSet(teacher_id, str(labels.db_path()), covered, config.policy), output_name="labels", metadata={
        "teacher_id": teacher_id, "db_path": MetadataValue.path(str(labels.db_path())),
        **{k: (round(v, 3) if isinstance(v, float) else v) for k, v in stats.as_dict().items()},
        "labels_in_store": stored_total, "teacher_loaded": any(loaded for _, loaded in shards),
        "utility_mean": round(statistics.fmean(values), 4) if values else 0.0,
        "queries_with_helpful_passage": sum(b > 0 for b in best),
        "shards": len(shards), "chunks_merged": merged.files, "policy": config.policy,
        "round_pairs": config.round_pairs, "pairs_for_training": len(values)})
    yield checks.labels_check(stats.pairs_total - stats.pairs_unlabelable, covered)


@graph_asset(partitions_def=domain_partitions, group_name="labels", code_version="2",
             ins={"teacher_model": AssetIn(dagster_type=Nothing)}, automation_condition=eager, kinds={"duckdb"},
             check_specs=checks.UTILITY_LABELS,
             config=ConfigMapping(config_fn=_labeling_config, config_schema=LabelingConfig.to_config_schema()))
def utility_labels(candidate_sets, passages, queries, teacher_model):
    """Teacher utility of the round's candidate pairs (every pair, or a budget spent where a policy says),
    stored in DuckDB keyed by (teacher_id, question, passage); labeled in `shards` steps that write Parquet
    chunks, merged by one step."""
    selected = select_label_pairs(candidate_sets, passages, queries)
    shards = plan_label_shards(selected, passages, queries, teacher_model=teacher_model)
    labels, check = merge_label_shards(selected, shards.map(label_shard).collect())
    return {"result": labels, checks.UTILITY_LABELS[0].get_python_identifier(): check}
