"""MLflow registry in a real sqlite store: versions, and a champion alias that moves only on improvement."""

import mlflow

from uae_core import tracking


def test_champion_moves_only_when_dev_score_improves(tmp_path, tiny_student_dir):
    client = tracking.configure(f"sqlite:///{tmp_path / 'mlflow.db'}")
    experiment = tracking.experiment_id("d", str(tmp_path / "artifacts"))
    assert tracking.experiment_id("d", str(tmp_path / "artifacts")) == experiment  # idempotent
    from uae_core.encoder import load_student
    model = load_student(str(tiny_student_dir))
    decisions = []
    for score in (0.30, 0.20, 0.30, 0.45):
        with mlflow.start_run(experiment_id=experiment) as run:
            tracking.log_student(model)
        version = tracking.register_version(client, "d", run.info.run_id)
        decisions.append(tracking.promote_if_better(client, "d", version, "map", score))
    assert [d.version for d in decisions] == ["1", "2", "3", "4"]
    assert [d.promoted for d in decisions] == [True, False, False, True]  # a tie does not move it
    assert decisions[1].champion_version == "1" and decisions[1].champion_score == 0.30
    assert "does not beat champion v1" in decisions[1].describe()
    assert str(client.get_model_version_by_alias("uae-encoder-d", "champion").version) == "4"
    local = tracking.download_version("models:/uae-encoder-d@champion", tmp_path / "dl")
    assert (local / "model.safetensors").is_file() and (local / "modules.json").is_file()
