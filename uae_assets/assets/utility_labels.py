"""utility_labels: the teacher's utility of every candidate, in DuckDB; only missing keys are computed."""

import json
import os
import statistics

from dagster import AssetExecutionContext, Config, MetadataValue, Output, asset
from pydantic import Field

from uae_assets import checks
from uae_assets.assets.common import domain_partitions, eager, progress_logger
from uae_assets.assets.sources import teacher_model
from uae_assets.resources import LabelStoreResource, TeacherResource
from uae_core.data import Passage, Query
from uae_core.labeling.candidates import CandidateSet
from uae_core.labeling.label_store import LabelSet
from uae_core.labeling.labeler import label_candidates

# This step's own pod under the k8s_job_executor (UAE_EXECUTOR=k8s, deploy/README.md): one GPU, the usual
# GPU-node taint tolerated, the teacher on cuda. $UAE_LABELING_K8S_CONFIG (JSON, the same shape) replaces it,
# e.g. with the cluster's GPU node pool (deploy/helm/values.yaml). Every other executor ignores the tag.
GPU_POD = {"container_config": {"resources": {"limits": {"nvidia.com/gpu": 1}},
                                "env": [{"name": "UAE_TEACHER_DEVICE", "value": "cuda"}]},
           "pod_spec_config": {"tolerations": [{"key": "nvidia.com/gpu", "operator": "Exists",
                                                "effect": "NoSchedule"}]}}
LABELING_K8S_CONFIG = json.loads(os.environ.get("UAE_LABELING_K8S_CONFIG") or "null") or GPU_POD


class LabelingConfig(Config):
    chunk_pairs: int = Field(default=32, description="Pairs per committed DuckDB chunk: the most a crash can lose.")


@asset(partitions_def=domain_partitions, group_name="labels", code_version="2", pool="duckdb",
       deps=[teacher_model], automation_condition=eager, kinds={"duckdb"},
       check_specs=checks.UTILITY_LABELS,
       op_tags={"dagster-k8s/config": LABELING_K8S_CONFIG})
def utility_labels(context: AssetExecutionContext, config: LabelingConfig, candidate_sets: list[CandidateSet],
                   passages: list[Passage], queries: list[Query], teacher: TeacherResource,
                   labels: LabelStoreResource):
    """Teacher utility of every candidate, stored in DuckDB keyed by (teacher_id, question, passage)."""
    model = teacher.load()
    with labels.open() as store:
        store.register_teacher(model.teacher_id, teacher.config_json())
        stats = label_candidates(model, store, candidate_sets, {q.query_id: q for q in queries},
                                 {p.passage_id: p for p in passages}, config.chunk_pairs,
                                 progress=progress_logger(context, "utility labels"))
        wanted = tuple(c.query_id for c in candidate_sets)
        utilities = store.utilities(model.teacher_id, wanted)
        stored_total = store.count()
    candidates = {c.query_id: set(c.passage_ids) for c in candidate_sets}
    covered = {q: {p: u for p, u in per_q.items() if p in candidates[q]} for q, per_q in utilities.items()}
    values = [u for per_q in utilities.values() for u in per_q.values()]
    best = [max(per_q.values()) for per_q in utilities.values() if per_q]
    yield Output(LabelSet(model.teacher_id, str(labels.db_path()), covered), metadata={
        "teacher_id": model.teacher_id, "db_path": MetadataValue.path(str(labels.db_path())),
        **{k: (round(v, 3) if isinstance(v, float) else v) for k, v in stats.as_dict().items()},
        "labels_in_store": stored_total, "teacher_loaded": model.loaded,
        "utility_mean": round(statistics.fmean(values), 4) if values else 0.0,
        "queries_with_helpful_passage": sum(b > 0 for b in best)})
    yield checks.labels_check(stats.pairs_total - stats.pairs_unlabelable, covered)
