"""A domain's own settings (`run_config:` in domains.yaml): checked when read, with the file, domain,
asset and field named; under a run's own config field by field; carried by the job's runs (launchpad,
schedule) and applied by the assets to runs that bring no config (declarative automation), against a real
Dagster instance with tiny random models."""

import json
from datetime import datetime

import pytest
from dagster import AssetKey, DagsterInstance, build_schedule_context

from tests.helpers import REPO, synthetic_qasper
from uae_assets.definitions import defs
from uae_assets.domain_config import domain_settings, merge_under
from uae_assets.domains import DomainError, get_domain, load_domains
from uae_assets.resources import TeacherResource
from uae_assets.schedules import redistill_schedule
from uae_assets.sync import apply_sync, plan_sync


def write_domains(tmp_path, monkeypatch, entry: str, extra: str = "") -> None:
    (tmp_path / "alpha.json").write_text(json.dumps(synthetic_qasper(20)))
    (tmp_path / "beta.json").write_text(json.dumps(synthetic_qasper(20, 100)))
    (tmp_path / "domains.yaml").write_text(
        f"domains:\n  alpha:\n    path: alpha.json\n{entry}  beta:\n    path: beta.json\n{extra}")
    monkeypatch.setenv("UAE_DOMAINS", str(tmp_path / "domains.yaml"))
    monkeypatch.setenv("UAE_DATA_DIR", str(tmp_path / "data"))


PINNED = ("    run_config:\n      ops:\n        candidate_sets:\n          config: {k: 3, max_train_queries: 0}\n"
          "        uae_encoder:\n          config: {epochs: 1, lam: 0.75}\n")


def test_inline_or_file_settings_and_the_run_config_wins_field_by_field(tmp_path, monkeypatch):
    write_domains(tmp_path, monkeypatch, PINNED)
    alpha = get_domain("alpha")
    assert domain_settings(alpha) == {"ops": {"candidate_sets": {"config": {"k": 3, "max_train_queries": 0}},
                                              "uae_encoder": {"config": {"epochs": 1, "lam": 0.75}}}}
    assert get_domain("beta").run_config == {}
    merged = merge_under({"ops": {"uae_encoder": {"config": {"lam": 0.5}}}, "resources": {"x": 1}}, alpha)
    assert merged == {"ops": {"uae_encoder": {"config": {"epochs": 1, "lam": 0.5}},
                              "candidate_sets": {"config": {"k": 3, "max_train_queries": 0}}}, "resources": {"x": 1}}
    # A shipped run config file, named relative to domains.yaml.
    (tmp_path / "configs").mkdir()
    (tmp_path / "configs" / "tuned.yaml").write_text((REPO / "configs" / "tuned.yaml").read_text())
    write_domains(tmp_path, monkeypatch, "    run_config: configs/tuned.yaml\n")
    alpha = get_domain("alpha")
    assert alpha.run_config["ops"]["candidate_sets"]["config"] == {"k": 8, "max_train_queries": 0}
    assert str(tmp_path / "configs" / "tuned.yaml") in alpha.run_config_source


@pytest.mark.parametrize("entry, expected", [
    ("    run_config:\n      resources: {teacher: {config: {device: cuda}}}\n", "`resources` cannot be set per domain"),
    ("    run_config:\n      ops: {utility_labels: {config: {shards: 2}}}\n", "ops.utility_labels: not a setting"),
    ("    run_config:\n      ops: {uae_encoder: {epochs: 2}}\n", "ops.uae_encoder: expected {config:"),
    ("    run_config: [1, 2]\n", "expected a mapping with `ops:`"),
    ("    run_config: missing.yaml\n", "cannot read"),
])
def test_a_misshapen_run_config_names_the_file_domain_and_field(tmp_path, monkeypatch, entry, expected):
    write_domains(tmp_path, monkeypatch, entry)
    with pytest.raises(DomainError) as err:
        load_domains()
    assert expected in str(err.value)
    assert str(tmp_path / "domains.yaml") in str(err.value) and "'alpha'" in str(err.value)


@pytest.mark.parametrize("config, expected", [
    ("{epochs: 0}", "ops.uae_encoder.config: TrainConfig.epochs: must be at least 1, got 0"),
    ("{epoch: 2}", "ops.uae_encoder.config: unknown field(s) ['epoch']"),
    ("{lam: high}", "ops.uae_encoder.config: lam: Input should be a valid number"),
])
def test_a_bad_value_stops_before_any_work(tmp_path, monkeypatch, config, expected):
    write_domains(tmp_path, monkeypatch,
                  f"    run_config:\n      ops:\n        uae_encoder:\n          config: {config}\n")
    alpha = get_domain("alpha")  # the shape is fine: the domain still loads, e.g. for the sensor
    for stop in (lambda: domain_settings(alpha),
                 lambda: defs.resolve_job_def("uae_pipeline").get_run_config_for_partition_key("alpha")):
        with pytest.raises(DomainError) as err:
            stop()
        assert expected in str(err.value) and "'alpha'" in str(err.value)


@pytest.fixture
def instance(tmp_path):
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text((REPO / "dagster_home" / "dagster.yaml").read_text())
    instance = DagsterInstance.local_temp(str(home))
    yield instance
    instance.dispose()


def test_runs_carry_and_assets_apply_the_domain_settings(tmp_path, monkeypatch, instance, tiny_student_dir,
                                                         tiny_teacher_dir):
    write_domains(tmp_path, monkeypatch, PINNED)
    teacher = {"model": str(tiny_teacher_dir), "batch_size": 16}
    resources = {"teacher": {"config": teacher},
                 "student": {"config": {"model": str(tiny_student_dir), "max_seq_length": 64}}}
    apply_sync(instance, plan_sync(instance, TeacherResource(**teacher)))
    job = defs.resolve_job_def("uae_pipeline")

    # The launchpad's and the schedule's runs: the job's config for the partition is the domain's.
    assert job.get_run_config_for_partition_key("alpha") == domain_settings(get_domain("alpha"))
    assert job.get_run_config_for_partition_key("beta") == {}
    context = build_schedule_context(instance=instance, scheduled_execution_time=datetime(2026, 11, 29, 3),
                                     repository_def=defs.get_repository_def())
    requests = {r.partition_key: r for r in redistill_schedule.evaluate_tick(context).run_requests}
    assert set(requests) == {"alpha", "beta"}
    # A round adds the champion source to the domain's own settings (and to the code defaults' sources).
    pinned = domain_settings(get_domain("alpha"))["ops"]
    alpha_ops = requests["alpha"].run_config["ops"]
    assert {op: e for op, e in alpha_ops.items() if op != "candidate_sets"} == \
        {op: e for op, e in pinned.items() if op != "candidate_sets"}
    assert alpha_ops["candidate_sets"]["config"] == {**pinned["candidate_sets"]["config"],
                                                     "sources": ["bm25", "dense", "champion"]}
    assert requests["beta"].run_config == {"ops": {"candidate_sets": {"config": {
        "sources": ["bm25", "dense", "champion"]}}}}

    # A run with no ops config (as declarative automation launches): the asset applies the domain's settings.
    subset = job.get_subset(asset_selection={AssetKey(k) for k in ("raw_corpus", "passages", "queries",
                                                                  "candidate_sets")})

    def candidate_sets(run_config):
        result = subset.execute_in_process(run_config=run_config, instance=instance, partition_key="alpha")
        assert result.success
        meta = {e.asset_key.path[0]: e.step_materialization_data.materialization.metadata
                for e in result.get_asset_materialization_events()}["candidate_sets"]
        sets = result.output_for_node("candidate_sets")
        return meta, sets

    meta, sets = candidate_sets({"resources": resources})  # code defaults: k 2, 400 questions at most
    assert meta["k"].value == 3 and max(len(s.passage_ids) for s in sets) == 3
    assert meta["domain_settings"].value == {"k": 3, "max_train_queries": 0}
    # The run's own value wins; the domain fills only what the run leaves unset.
    meta, sets = candidate_sets({"resources": resources, "ops": {"candidate_sets": {"config": {"k": 4}}}})
    assert meta["k"].value == 4 and max(len(s.passage_ids) for s in sets) == 4
    assert meta["domain_settings"].value == {"max_train_queries": 0}
