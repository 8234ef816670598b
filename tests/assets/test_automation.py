"""Change flows through the graph, against a real Dagster instance (sqlite, temporary DAGSTER_HOME), real
DuckDB and MLflow stores, and tiny random models: nothing changed -> nothing launched and no teacher call;
one domain's file changed -> exactly that domain's partitions requested and only new pairs labeled; the
teacher changed -> every domain's labels requested and relabeled."""

import json

import pytest
from dagster import AssetKey, DagsterInstance, evaluate_automation_conditions

from tests.helpers import REPO, synthetic_qasper
from uae_assets.definitions import defs
from uae_assets.resources import TeacherResource
from uae_assets.sync import apply_sync, plan_sync

CHAIN = {"raw_corpus", "passages", "queries", "candidate_sets", "utility_labels", "uae_encoder", "faiss_index",
         "eval_report"}


@pytest.fixture
def world(tmp_path, monkeypatch, tiny_student_dir, tiny_teacher_dir):
    for name, start in (("alpha", 0), ("beta", 100)):
        (tmp_path / f"{name}.json").write_text(json.dumps(synthetic_qasper(20, start)))
    (tmp_path / "domains.yaml").write_text(
        "domains:\n  alpha:\n    path: alpha.json\n  beta:\n    path: beta.json\nwatch: inbox\n")
    monkeypatch.setenv("UAE_DOMAINS", str(tmp_path / "domains.yaml"))
    monkeypatch.setenv("UAE_DATA_DIR", str(tmp_path / "data"))
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text((REPO / "dagster_home" / "dagster.yaml").read_text())  # the shipped config
    instance = DagsterInstance.local_temp(str(home))
    teacher = {"model": str(tiny_teacher_dir), "batch_size": 16}
    config = {"resources": {"teacher": {"config": teacher},
                            "student": {"config": {"model": str(tiny_student_dir), "max_seq_length": 64}}},
              "ops": {"candidate_sets": {"config": {"k": 3, "max_train_queries": 0}},
                      # tiny random students score noise on dev: a worse one must not stop the flow under test
                      "uae_encoder": {"config": {"epochs": 1, "max_seq_length": 64, "block_if_worse": False}}}}
    yield tmp_path, instance, teacher, config
    instance.dispose()


def materialize(instance, config, domain):
    result = defs.resolve_job_def("uae_pipeline").execute_in_process(run_config=config, instance=instance,
                                                                    partition_key=domain)
    assert result.success
    return {e.asset_key.path[0]: e.step_materialization_data.materialization.metadata
            for e in result.get_asset_materialization_events()}


def value(meta, name):
    return meta[name].value


def requested(result) -> set[tuple[str, str | None]]:
    out = set()
    for key in CHAIN:
        for partition in result.get_requested_partitions(AssetKey(key)):
            out.add((key, partition))
    return out


@pytest.mark.slow
def test_change_flows_only_where_it_should(world):
    tmp_path, instance, teacher, config = world
    apply_sync(instance, plan_sync(instance, TeacherResource(**teacher)))
    assert sorted(instance.get_dynamic_partitions("domain")) == ["alpha", "beta"]
    first = {d: materialize(instance, config, d) for d in ("alpha", "beta")}
    pairs = {d: value(first[d]["utility_labels"], "pairs_total") for d in first}
    assert all(value(first[d]["utility_labels"], "pairs_labeled_now") == pairs[d] > 0 for d in first)
    encoder = first["alpha"]["uae_encoder"]  # TrainConfig.merge_shares' defaults, each scored on dev
    assert set(value(encoder, "merge_dev_scores")) == {"0", "0.5"}
    assert value(encoder, "merge_share") in (0.0, 0.5)
    assert value(encoder, "train_queries") == value(first["alpha"]["candidate_sets"], "dagster/row_count") > 0

    # Nothing changed: the sync has nothing to report, the automation launches nothing.
    assert plan_sync(instance, TeacherResource(**teacher)).empty
    tick = evaluate_automation_conditions(defs, instance)
    tick = evaluate_automation_conditions(defs, instance, cursor=tick.cursor)
    assert tick.total_requested == 0
    # A forced re-run asks the teacher nothing and trains nothing.
    again = materialize(instance, config, "alpha")
    assert value(again["utility_labels"], "teacher_requests") == 0
    assert value(again["utility_labels"], "pairs_reused") == pairs["alpha"]
    assert value(again["uae_encoder"], "reused") is True
    assert value(again["uae_encoder"], "merge_share") == value(encoder, "merge_share")  # read from its run
    tick = evaluate_automation_conditions(defs, instance, cursor=tick.cursor)
    assert tick.total_requested == 0  # the whole chain was re-materialized together: nothing is behind

    # alpha's file grows by 10 % (2 papers): only alpha's partitions are requested ...
    grown = {**synthetic_qasper(20, 0), **synthetic_qasper(2, 50)}
    (tmp_path / "alpha.json").write_text(json.dumps(grown))
    plan = plan_sync(instance, TeacherResource(**teacher))
    assert [(o.asset_key.path[0], o.partition) for o in plan.observations] == [("domain_file", "alpha")]
    apply_sync(instance, plan)
    tick = evaluate_automation_conditions(defs, instance, cursor=tick.cursor)
    assert requested(tick) == {(key, "alpha") for key in CHAIN}
    # ... and re-materializing labels only the new pairs.
    grown_run = materialize(instance, config, "alpha")
    labeled_now = value(grown_run["utility_labels"], "pairs_labeled_now")
    # Sticky candidates: every old question keeps its set; only the new papers' questions get new pairs.
    before = value(first["alpha"]["candidate_sets"], "dagster/row_count")
    assert value(grown_run["candidate_sets"], "sets_kept") == before
    assert labeled_now == 3 * value(grown_run["candidate_sets"], "sets_new")
    assert 0 < labeled_now < value(grown_run["utility_labels"], "pairs_total")
    assert labeled_now + value(grown_run["utility_labels"], "pairs_reused") == \
        value(grown_run["utility_labels"], "pairs_total")
    assert value(grown_run["uae_encoder"], "reused") is False
    tick = evaluate_automation_conditions(defs, instance, cursor=tick.cursor)
    assert tick.total_requested == 0

    # A new teacher config: every domain's labels (and what follows) are requested, and relabeled.
    new_teacher = {**teacher, "max_answer_tokens": 16}
    plan = plan_sync(instance, TeacherResource(**new_teacher))
    assert [o.asset_key.path[0] for o in plan.observations] == ["teacher_model"]
    apply_sync(instance, plan)
    tick = evaluate_automation_conditions(defs, instance, cursor=tick.cursor)
    below = ("utility_labels", "uae_encoder", "faiss_index", "eval_report")
    wanted = {(k, d) for k in below for d in ("alpha", "beta")}
    assert requested(tick) == wanted
    relabeled = materialize(instance, {**config, "resources": {**config["resources"],
                                                               "teacher": {"config": new_teacher}}}, "beta")
    assert value(relabeled["utility_labels"], "pairs_labeled_now") == pairs["beta"]
    assert value(relabeled["utility_labels"], "teacher_id") != value(first["beta"]["utility_labels"], "teacher_id")


@pytest.mark.slow
def test_watched_folder_registers_and_unregisters_domains(world):
    tmp_path, instance, teacher, _ = world
    apply_sync(instance, plan_sync(instance, TeacherResource(**teacher)))
    tick = evaluate_automation_conditions(defs, instance)
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "gamma.json").write_text(json.dumps(synthetic_qasper(3)))
    (inbox / "notes.json").write_text(json.dumps({"not": "qasper"}))
    plan = plan_sync(instance, TeacherResource(**teacher))
    assert plan.add == ["gamma"] and plan.remove == []
    assert len(plan.skipped) == 1 and "notes.json" in plan.skipped[0] and "QASPER layout" in plan.skipped[0]
    apply_sync(instance, plan)
    assert "gamma" in instance.get_dynamic_partitions("domain")
    tick = evaluate_automation_conditions(defs, instance, cursor=tick.cursor)
    assert ("raw_corpus", "gamma") in requested(tick)  # a new domain is missing: the automation fills it
    (inbox / "gamma.json").unlink()
    plan = plan_sync(instance, TeacherResource(**teacher))
    assert plan.remove == ["gamma"]
    apply_sync(instance, plan)
    assert sorted(instance.get_dynamic_partitions("domain")) == ["alpha", "beta"]


def test_schedule_is_shipped_off_and_requests_every_domain(world):
    _, instance, teacher, _ = world
    from dagster import DefaultScheduleStatus, build_schedule_context

    from uae_assets.schedules import redistill_schedule
    assert redistill_schedule.default_status == DefaultScheduleStatus.STOPPED
    apply_sync(instance, plan_sync(instance, TeacherResource(**teacher)))
    import datetime
    context = build_schedule_context(instance=instance,
                                     scheduled_execution_time=datetime.datetime(2026, 11, 29, 3, 0),
                                     repository_def=defs.get_repository_def())
    requests = list(redistill_schedule.evaluate_tick(context).run_requests)
    assert {r.run_key for r in requests} == {"redistill-alpha-20261129T0300", "redistill-beta-20261129T0300"}
    assert sorted(r.partition_key for r in requests) == ["alpha", "beta"]
