"""Two labeling rounds through Dagster (real instance, DuckDB, MLflow registry; tiny random models) with an
informed policy and a budget: round 1 labels the base encoder's most uncertain questions within the
budget; round 2 keeps them, labels only new pairs, chosen with round 1's champion, and registers a new
version compared with round 1's on dev."""


import pytest

from tests.helpers import alpha_instance, run_alpha
from uae_assets.resources import TeacherResource
from uae_assets.sync import apply_sync, plan_sync

pytestmark = pytest.mark.slow
BUDGET = 12


def run(instance, config):
    result, meta = run_alpha(instance, config)
    logs = [r.user_message for r in instance.all_logs(result.run_id)]
    return meta, result.output_for_node("utility_labels"), result.output_for_node("candidate_sets"), logs


def test_two_rounds_spend_the_budget_on_new_pairs_chosen_with_the_champion(tmp_path, monkeypatch, tiny_student_dir,
                                                                           tiny_teacher_dir):
    from uae_core.data import load_corpus
    from uae_core.labeling.selection import rank_questions, select_round
    from uae_core.retrieval.encoder import load_student

    instance = alpha_instance(tmp_path, monkeypatch)
    teacher = {"model": str(tiny_teacher_dir), "batch_size": 16}
    config = {"resources": {"teacher": {"config": teacher},
                            "student": {"config": {"model": str(tiny_student_dir), "max_seq_length": 64}}},
              "ops": {"candidate_sets": {"config": {"k": 2, "max_train_queries": 0}},
                      "utility_labels": {"config": {"policy": "margin", "round_pairs": BUDGET}},
                      "uae_encoder": {"config": {"epochs": 1, "max_seq_length": 64, "block_if_worse": False}}}}
    apply_sync(instance, plan_sync(instance, TeacherResource(**teacher)))

    first, first_labels, pool, first_logs = run(instance, config)
    labels = first["utility_labels"]
    assert 0 < labels["pairs_labeled_now"] <= BUDGET < first["candidate_sets"]["pairs"]  # a budget, not the pool
    assert labels["policy"] == "margin" and labels["pairs_for_training"] == labels["pairs_labeled_now"]
    assert any("ranking questions with the base encoder" in m for m in first_logs)
    # the questions bought are the base encoder's least sure, in the policy's order, within the budget
    corpus = load_corpus(tmp_path / "alpha.json")
    ranking = rank_questions("margin", pool, corpus.passages, corpus.queries, "document",
                             load_student(str(tiny_student_dir)), tmp_path / "cache")
    expected = select_round(pool, set(), ranking, BUDGET)
    assert set(first_labels.utilities) == {s.query_id for s in expected.sets}
    assert first["uae_encoder"]["model_version"] == "1"

    second, second_labels, _, second_logs = run(instance, config)  # the next round: same config
    labels = second["utility_labels"]
    assert labels["pairs_reused"] == first["utility_labels"]["pairs_total"]  # round 1's pairs, kept, not relabeled
    assert 0 < labels["pairs_labeled_now"] <= BUDGET
    new_questions = set(second_labels.utilities) - set(first_labels.utilities)
    assert new_questions and set(first_labels.utilities) <= set(second_labels.utilities)
    assert labels["pairs_for_training"] == sum(len(u) for u in second_labels.utilities.values()) \
        == first["utility_labels"]["pairs_total"] + labels["pairs_labeled_now"]
    assert any("ranking questions with models:/uae-encoder-alpha/1" in m for m in second_logs)  # the champion
    encoder = second["uae_encoder"]
    assert encoder["model_version"] == "2" and encoder["reused"] is False
    assert "champion v1" in encoder["promotion"]  # compared with round 1's version on dev
    from mlflow import MlflowClient

    uri = f"sqlite:///{tmp_path / 'data' / 'mlflow' / 'mlflow.db'}"
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    runs = client.search_runs([client.get_experiment_by_name("uae-alpha").experiment_id])
    per_round = sorted((int(r.data.tags["labeled_pairs"]), r.data.tags["label_policy"]) for r in runs)
    assert per_round == [(first["utility_labels"]["pairs_total"], "margin"),
                         (labels["pairs_for_training"], "margin")]
    instance.dispose()
