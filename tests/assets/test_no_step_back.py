"""Never ship a step back: a version that does not beat the base encoder on dev is registered but not
promoted, the first one included; the domain then serves the free hybrid (BM25 + the base encoder), and the
run and the report say which and why. Real Dagster instance, MLflow registry, tiny random models."""

import json

import pytest

from tests.helpers import alpha_instance
from uae_assets.definitions import defs
from uae_assets.resources import TeacherResource
from uae_assets.sync import apply_sync, plan_sync

pytestmark = pytest.mark.slow


def test_a_first_version_no_better_than_the_base_is_not_champion(tmp_path, monkeypatch, tiny_student_dir,
                                                                   tiny_teacher_dir, capsys):
    instance = alpha_instance(tmp_path, monkeypatch)
    teacher = {"model": str(tiny_teacher_dir), "batch_size": 16}
    apply_sync(instance, plan_sync(instance, TeacherResource(**teacher)))
    # A learning rate so small that the trained weights are the base's: its dev score ties the base's.
    config = {"resources": {"teacher": {"config": teacher},
                            "student": {"config": {"model": str(tiny_student_dir), "max_seq_length": 64}}},
              "ops": {"candidate_sets": {"config": {"k": 2, "max_train_queries": 0}},
                      "uae_encoder": {"config": {"epochs": 1, "max_seq_length": 64, "learning_rate": 1e-12}}}}
    result = defs.resolve_job_def("uae_pipeline").execute_in_process(run_config=config, instance=instance,
                                                                    partition_key="alpha")
    assert result.success
    meta = {e.asset_key.path[0]: {k: v.value for k, v in e.step_materialization_data.materialization.metadata.items()}
            for e in result.get_asset_materialization_events()}
    encoder = meta["uae_encoder"]
    assert encoder["model_version"] == "1" and encoder["champion"] is False  # registered, not promoted
    assert "does not beat the base encoder" in encoder["promotion"] and "free hybrid" in encoder["promotion"]

    from uae_assets.resources import MLflowResource
    from uae_core.tracking.registry import champion_uri
    assert champion_uri(MLflowResource().client(), "alpha") is None  # UAE_DATA_DIR: this test's store

    base = json.loads((tmp_path / "data" / "indexes" / "alpha" / "base" / "retriever.json").read_text())
    assert base["served_because"] == encoder["promotion"] and not base["model_uri"].startswith("models:/")
    report = result.output_for_node("eval_report")
    assert report["served"] == {"system": "hybrid_base", "why": encoder["promotion"]}
    markdown = (tmp_path / "data" / "reports" / "alpha" / "eval_report.md").read_text()
    assert "Served: `hybrid_base` (v1 (map=" in markdown
    instance.dispose()

    # `uae search` serves the free hybrid and says why.
    from uae_assets.cli import main
    capsys.readouterr()
    assert main(["search", "What does paper 3 study?", "--domain", "alpha", "--k", "2"]) == 0
    out, err = capsys.readouterr()
    assert "has no champion (v1 (map=" in err and "serving BM25 + the base encoder" in err
    assert "\n1. paper-" in out and base["model_uri"] in out
