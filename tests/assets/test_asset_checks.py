"""The asset checks (uae_assets.checks), called directly with small values: passed or failed, blocking
(ERROR) or warning (WARN), and what their metadata says; each result names a check its asset declares."""

from __future__ import annotations

import math

import pytest
from dagster import AssetCheckSeverity, AssetKey

from uae_assets import checks
from uae_core.data import Passage, Query

SPECS = {(s.asset_key, s.name): s for s in checks.PASSAGES + checks.QUERIES + checks.CANDIDATE_SETS
         + checks.UTILITY_LABELS + checks.UAE_ENCODER + checks.FAISS_INDEX}


def meta(result) -> dict:
    """The result's metadata as plain values (Dagster wraps each in a MetadataValue)."""
    return {k: getattr(v, "value", v) for k, v in result.metadata.items()}


def declared(result):
    """The spec the result answers: a result whose (asset, name) no asset declares fails the step."""
    return SPECS[(result.asset_key, result.check_name)]


def passage(pid: str) -> Passage:
    return Passage(pid, "doc", "Intro", f"text of {pid}")


def query(qid: str, split: str, gold: tuple[str, ...] = ()) -> Query:
    return Query(qid, "doc", f"question {qid}?", (), (), gold, split)


def test_every_asset_with_a_check_declares_it_and_only_the_data_breaking_ones_block():
    blocking = {(k.path[0], name): s.blocking for (k, name), s in SPECS.items()}
    assert blocking == {("passages", "non_empty_unique_ids"): True,
                        ("queries", "gold_in_every_split"): False,
                        ("candidate_sets", "gold_in_candidates"): False,
                        ("utility_labels", "labels_cover_candidates"): True,
                        ("uae_encoder", "not_worse_than_champion"): True,
                        ("faiss_index", "index_covers_passages"): True}
    assert all(s.description for s in SPECS.values())  # shown in the UI's Checks tab
    assert "30%" in checks.CANDIDATE_SETS[0].description  # the floor, as the code uses it
    assert "does not get an index or a report" in checks.UAE_ENCODER[0].description


def test_passages_check_passes_unique_ids_and_blocks_on_duplicates_or_none():
    ok = checks.passages_check([passage("a"), passage("b")])
    assert ok.passed and declared(ok).blocking and ok.severity == AssetCheckSeverity.ERROR
    assert meta(ok) == {"passages": 2, "duplicate_ids": 0, "first_duplicates": ""}

    dup = checks.passages_check([passage("a"), passage("b"), passage("a"), passage("c"), passage("b")])
    assert not dup.passed and dup.severity == AssetCheckSeverity.ERROR
    assert meta(dup) == {"passages": 5, "duplicate_ids": 2, "first_duplicates": "a, b"}

    many = checks.passages_check([passage(str(i)) for i in range(7)] * 2)
    assert meta(many)["duplicate_ids"] == 7
    assert meta(many)["first_duplicates"] == "0, 1, 2, 3, 4"  # the first five only

    empty = checks.passages_check([])
    assert not empty.passed and empty.severity == AssetCheckSeverity.ERROR
    assert meta(empty)["passages"] == 0


def test_queries_check_warns_when_dev_or_test_lacks_gold():
    full = [query("t", "train", ("p",)), query("d", "dev", ("p",)), query("e", "test", ("p", "q")),
            query("d2", "dev")]
    ok = checks.queries_check(full)
    assert ok.passed and ok.severity == AssetCheckSeverity.WARN and not declared(ok).blocking
    assert meta(ok) == {"train_with_gold": 1, "dev_with_gold": 1, "test_with_gold": 1, "splits_without_gold": "none"}

    no_dev = checks.queries_check([query("t", "train", ("p",)), query("d", "dev"), query("e", "test", ("p",))])
    assert not no_dev.passed and no_dev.severity == AssetCheckSeverity.WARN
    assert meta(no_dev)["splits_without_gold"] == "dev" and meta(no_dev)["dev_with_gold"] == 0

    train_only = checks.queries_check([query("t", "train", ("p",))])
    assert not train_only.passed and meta(train_only)["splits_without_gold"] == "dev, test"


def test_queries_check_passes_a_domain_without_gold_evidence():
    result = checks.queries_check([query("t", "train"), query("d", "dev")])  # nothing to miss
    assert result.passed
    assert meta(result)["splits_without_gold"] == "none"


@pytest.mark.parametrize("recall, passed", [(0.9, True), (checks.GOLD_IN_CANDIDATES_FLOOR, True),
                                            (0.29, False), (0.0, False), (math.nan, True)])
def test_candidates_check_warns_below_the_gold_recall_floor(recall, passed):
    result = checks.candidates_check(recall)
    assert result.passed is passed
    assert result.severity == AssetCheckSeverity.WARN and not declared(result).blocking
    assert meta(result)["floor"] == checks.GOLD_IN_CANDIDATES_FLOOR
    # NaN = no question with gold: nothing measured, shown as empty rather than as a number
    assert meta(result)["gold_in_candidates"] == (None if math.isnan(recall) else round(recall, 4))


def test_labels_check_blocks_missing_or_non_finite_labels():
    labeled = {"q1": {"a": 0.5, "b": 0.0}, "q2": {"c": 1.0}}
    ok = checks.labels_check(3, labeled)
    assert ok.passed and declared(ok).blocking and ok.severity == AssetCheckSeverity.ERROR
    assert meta(ok) == {"expected_pairs": 3, "labeled_pairs": 3, "non_finite": 0}

    missing = checks.labels_check(4, labeled)
    assert not missing.passed and missing.severity == AssetCheckSeverity.ERROR
    assert meta(missing) == {"expected_pairs": 4, "labeled_pairs": 3, "non_finite": 0}

    nan = checks.labels_check(3, {"q1": {"a": math.nan, "b": math.inf}, "q2": {"c": 1.0}})
    assert not nan.passed and meta(nan)["non_finite"] == 2


def test_champion_check_passes_the_champion_a_first_version_and_ties():
    champion = checks.champion_check(True, "map", 0.2, 0.5)  # the champion's stored score may be older
    assert champion.passed and declared(champion).blocking
    first = checks.champion_check(False, "map", 0.2, None)  # no champion yet
    assert first.passed and meta(first)["champion_dev_score"] is None
    tie = checks.champion_check(False, "map", 0.5, 0.5)  # not promoted (not strictly better), not worse either
    assert tie.passed


def test_champion_check_fails_a_worse_version_as_blocking_and_says_by_how_much():
    worse = checks.champion_check(False, "map", 0.31, 0.42, blocking=True)
    assert not worse.passed
    assert worse.severity == AssetCheckSeverity.ERROR and declared(worse).blocking  # stops faiss_index, eval_report
    assert worse.asset_key == AssetKey("uae_encoder") and worse.check_name == "not_worse_than_champion"
    assert meta(worse) == {"metric": "map", "dev_score": 0.31, "champion_dev_score": 0.42, "is_champion": False}
    no_score = checks.champion_check(False, "ndcg@10", None, 0.42)  # the metric was not measured
    assert not no_score.passed and meta(no_score)["dev_score"] is None


def test_a_failed_champion_check_describes_both_scores():
    worse = checks.champion_check(False, "map", 0.31, 0.42)
    assert "0.3100" in worse.description and "0.4200" in worse.description and "worse" in worse.description
    assert "worse" not in checks.champion_check(False, "map", 0.5, 0.42).description


def test_champion_check_only_warns_when_blocking_is_off():
    worse = checks.champion_check(False, "map", 0.31, 0.42, blocking=False)  # block_if_worse: false
    assert not worse.passed and worse.severity == AssetCheckSeverity.WARN  # a failed WARN check blocks nothing


def test_index_check_blocks_an_index_with_the_wrong_row_count():
    ok = checks.index_check(5, 5)
    assert ok.passed and declared(ok).blocking and ok.severity == AssetCheckSeverity.ERROR
    assert meta(ok) == {"index_rows": 5, "passages": 5}
    for rows in (4, 6, 0):
        bad = checks.index_check(rows, 5)
        assert not bad.passed and bad.severity == AssetCheckSeverity.ERROR
        assert meta(bad) == {"index_rows": rows, "passages": 5}



@pytest.mark.slow
def test_a_version_worse_than_the_champion_gets_no_index_and_keeps_the_champion(
        tmp_path, monkeypatch, tiny_student_dir, tiny_teacher_dir, global_mlflow_uri_restored):
    """End to end on a real Dagster instance with real training (tiny random student and teacher): v1 is
    trained on the gold evidence and becomes champion, so it strictly beats the untrained base on dev; v2
    trains with a learning rate so small that its weights stay the base's, so it scores the base's, below
    v1 on the same dev questions: its blocking check fails, the run fails, faiss_index and eval_report are
    not built for v2, and `champion` stays on v1."""

    from mlflow import MlflowClient

    from tests.helpers import alpha_instance
    from uae_assets.definitions import defs
    from uae_core.tracking.registry import CHAMPION, model_name

    instance = alpha_instance(tmp_path, monkeypatch)
    instance.add_dynamic_partitions("domain", ["alpha"])
    job = defs.resolve_job_def("uae_pipeline")

    def run(training: dict, **kwargs):
        config = {"resources": {"teacher": {"config": {"model": str(tiny_teacher_dir), "batch_size": 16}},
                                "student": {"config": {"model": str(tiny_student_dir), "max_seq_length": 64}}},
                  "ops": {"candidate_sets": {"config": {"k": 3, "max_train_queries": 0}},
                          "uae_encoder": {"config": {"max_seq_length": 64, "merge_shares": [0.0],
                                                     "block_if_worse": True, **training}}}}
        return job.execute_in_process(run_config=config, instance=instance, partition_key="alpha",
                                      raise_on_error=False, **kwargs)

    def encoder_check(result):
        [check] = [c for c in result.get_asset_check_evaluations() if c.check_name == "not_worse_than_champion"]
        return check, {k: getattr(v, "value", v) for k, v in check.metadata.items()}

    def materialized(result) -> dict:
        return {e.asset_key.path[0]: {k: getattr(v, "value", v)
                                      for k, v in e.step_materialization_data.materialization.metadata.items()}
                for e in result.get_asset_materialization_events()}

    try:
        first = run({"objective": "gold", "epochs": 4, "learning_rate": 1e-3}, asset_selection=[AssetKey(k) for k in (
            "raw_corpus", "passages", "queries", "candidate_sets", "utility_labels", "uae_encoder")])
        assert first.success
        v1 = materialized(first)["uae_encoder"]
        assert v1["model_version"] == "1" and v1["champion"] is True, v1["promotion"]  # beats the base
        check, _ = encoder_check(first)
        assert check.passed

        second = run({"epochs": 1, "learning_rate": 1e-12})
        assert not second.success  # a failed blocking check fails its step
        check, values = encoder_check(second)
        assert not check.passed and check.severity == AssetCheckSeverity.ERROR
        assert values["is_champion"] is False and values["metric"] == "map"
        assert values["dev_score"] < values["champion_dev_score"]  # v1, measured on the same dev questions
        made = materialized(second)
        assert made["uae_encoder"]["model_version"] == "2"  # registered, but ...
        assert "faiss_index" not in made and "eval_report" not in made  # ... no index and no report for it
        assert not (tmp_path / "data" / "indexes" / "alpha" / "v2").exists()
        client = MlflowClient(f"sqlite:///{tmp_path / 'data' / 'mlflow' / 'mlflow.db'}")
        assert str(client.get_model_version_by_alias(model_name("alpha"), CHAMPION).version) == "1"
    finally:
        instance.dispose()
