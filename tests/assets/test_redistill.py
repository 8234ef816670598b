"""Two re-distillation rounds through Dagster (real instance, DuckDB, MLflow registry; tiny random models):
round 2, a run of the re-distill schedule's config, mines candidates with round 1's champion; only those
new pairs go to the teacher; a new version is registered and compared with round 1's on dev and test."""

import datetime

import pytest
from dagster import build_schedule_context

from tests.helpers import alpha_instance, run_alpha
from uae_assets.definitions import defs
from uae_assets.resources import TeacherResource
from uae_assets.schedules import redistill_schedule
from uae_assets.sync import apply_sync, plan_sync

pytestmark = pytest.mark.slow


def run(instance, config):
    result, meta = run_alpha(instance, config)
    return meta, result.output_for_node("candidate_sets"), result.output_for_node("eval_report")


def test_a_round_mines_with_the_champion_and_labels_only_what_it_adds(tmp_path, monkeypatch, tiny_student_dir,
                                                                      tiny_teacher_dir):
    instance = alpha_instance(tmp_path, monkeypatch)
    teacher = {"model": str(tiny_teacher_dir), "batch_size": 16}
    resources = {"teacher": {"config": teacher},
                 "student": {"config": {"model": str(tiny_student_dir), "max_seq_length": 64}}}
    ops = {"candidate_sets": {"config": {"k": 2, "max_train_queries": 0}},
           "uae_encoder": {"config": {"epochs": 1, "max_seq_length": 64, "block_if_worse": False}}}
    apply_sync(instance, plan_sync(instance, TeacherResource(**teacher)))

    first, first_sets, first_report = run(instance, {"resources": resources, "ops": ops})
    assert first["candidate_sets"]["champion_mined"] == 0 and first["uae_encoder"]["model_version"] == "1"
    assert "previous_champion" not in first_report["systems"]  # nothing to compare the first version with

    # Round 2: what the re-distill schedule requests for the domain, with this test's models and sizes.
    context = build_schedule_context(instance=instance, scheduled_execution_time=datetime.datetime(2026, 12, 6, 3),
                                     repository_def=defs.get_repository_def())
    (request,) = redistill_schedule.evaluate_tick(context).run_requests
    round_ops = request.run_config["ops"]
    assert "champion" in round_ops["candidate_sets"]["config"]["sources"]
    merged = {op: {"config": {**ops.get(op, {}).get("config", {}), **round_ops.get(op, {}).get("config", {})}}
              for op in {*ops, *round_ops}}
    second, second_sets, second_report = run(instance, {"resources": resources, "ops": merged})

    cands = second["candidate_sets"]
    assert cands["champion"] == "models:/uae-encoder-alpha/1" and cands["sets_kept"] == len(first_sets)
    before = {s.query_id: s.passage_ids for s in first_sets}
    added = {s.query_id: s.passage_ids[len(before[s.query_id]):] for s in second_sets}
    assert all(s.passage_ids[:len(before[s.query_id])] == before[s.query_id] for s in second_sets)
    assert all(not set(a) & set(before[q]) for q, a in added.items())  # passages the first round did not have
    assert cands["champion_mined"] == sum(len(a) for a in added.values()) > 0
    labels = second["utility_labels"]
    assert labels["pairs_labeled_now"] == cands["champion_mined"]  # only the mined pairs went to the teacher
    assert labels["pairs_reused"] == first["utility_labels"]["pairs_total"]
    assert labels["baselines_labeled_now"] == 0

    encoder = second["uae_encoder"]
    assert encoder["model_version"] == "2" and encoder["reused"] is False
    assert "champion v1" in encoder["promotion"]  # compared with round 1's version on dev
    previous, round_one = second_report["systems"]["previous_champion"], first_report["systems"]["uae"]
    for metric in ("success@1", "map", "mrr@10"):  # and on the held-out split: round 1's model, scored again
        assert previous[metric] == pytest.approx(round_one[metric])
    assert second_report["previous_champion"] == "models:/uae-encoder-alpha/1"
    instance.dispose()
