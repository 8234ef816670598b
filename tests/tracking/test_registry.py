"""MLflow registry in a real sqlite store: versions, and a champion alias that moves only on improvement."""

import mlflow

from uae_core.tracking import registry, runs


def test_champion_moves_only_when_dev_score_improves(tmp_path, tiny_student_dir):
    client = runs.configure(f"sqlite:///{tmp_path / 'mlflow.db'}")
    experiment = runs.experiment_id(runs.experiment_name("d"), str(tmp_path / "artifacts"))
    assert runs.experiment_id(runs.experiment_name("d"), str(tmp_path / "artifacts")) == experiment  # idempotent
    from uae_core.retrieval.encoder import load_student
    model = load_student(str(tiny_student_dir))
    decisions = []
    for score in (0.30, 0.20, 0.30, 0.45):
        with mlflow.start_run(experiment_id=experiment) as run:
            uri = registry.log_student(model)
        version = registry.register_version(client, "d", uri, run.info.run_id)
        decisions.append(registry.promote_if_better(client, "d", version, "map", score))
    assert [d.version for d in decisions] == ["1", "2", "3", "4"]
    assert [d.promoted for d in decisions] == [True, False, False, True]  # a tie does not move it
    assert decisions[1].champion_version == "1" and decisions[1].champion_score == 0.30
    assert "does not beat champion v1" in decisions[1].describe()
    assert str(client.get_model_version_by_alias("uae-encoder-d", "champion").version) == "4"
    local = registry.download_version("models:/uae-encoder-d@champion", tmp_path / "dl")
    assert (local / "model.safetensors").is_file() and (local / "modules.json").is_file()


def test_compare_runs_lists_runs_side_by_side_with_the_champion_marked(tmp_path, tiny_student_dir):
    client = runs.configure(f"sqlite:///{tmp_path / 'mlflow.db'}")
    experiment = runs.experiment_id(runs.experiment_name("d"), str(tmp_path / "artifacts"))
    from uae_core.retrieval.encoder import load_student
    model = load_student(str(tiny_student_dir))
    for i, (score, teacher) in enumerate([(0.2, "t-a"), (0.3, "t-b")]):
        tags = {"teacher_id": teacher, "data_version": f"data{i}"}
        with mlflow.start_run(experiment_id=experiment, tags=tags) as run:
            mlflow.log_params({"objective": "uae", "train_queries": 10 + i})
            mlflow.log_metrics({"dev_map": score, "test_uae_map": score + 0.01})
            uri = registry.log_student(model)
            version = registry.register_version(client, "d", uri, run.info.run_id)
            mlflow.set_tag("model_version", version)
        registry.promote_if_better(client, "d", version, "map", score)
    rows = runs.compare_runs(client, "d")
    assert [r["version"] for r in rows] == ["2 *", "1"]  # newest first, champion starred
    assert [r["teacher"] for r in rows] == ["t-b", "t-a"] and rows[0]["dev_map"] == 0.3
    table = runs.runs_table_markdown(rows)
    assert table.splitlines()[0].startswith("| run | version | objective | data | teacher |")
    assert "| 2 * | uae | data1 | t-b |" in table
    assert runs.compare_runs(client, "unknown-domain") == []


def test_a_version_that_does_not_beat_the_base_is_never_champion(tmp_path, tiny_student_dir):
    from uae_core.retrieval.encoder import load_student

    client = runs.configure(f"sqlite:///{tmp_path / 'mlflow.db'}")
    experiment = runs.experiment_id(runs.experiment_name("d"), str(tmp_path / "artifacts"))
    model = load_student(str(tiny_student_dir))
    decisions = []
    for score in (0.20, 0.25, 0.40, 0.35):  # the base encoder scores 0.25 on the same dev questions
        with mlflow.start_run(experiment_id=experiment) as run:
            uri = registry.log_student(model)
        version = registry.register_version(client, "d", uri, run.info.run_id)
        decisions.append(registry.promote_if_better(client, "d", version, "map", score, base_score=0.25))
    assert [d.promoted for d in decisions] == [False, False, True, False]  # the first one too; a tie is no gain
    assert registry.champion_uri(client, "d") == "models:/uae-encoder-d/3"
    first = decisions[0].describe()
    assert "does not beat the base encoder (map=0.2500) on dev: registered, not promoted" in first
    assert "serves BM25 + the base encoder" in first
    assert "does not beat champion v3" in decisions[3].describe()
