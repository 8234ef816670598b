"""A NaN model never becomes champion (issue #27): every float setting refuses NaN and infinity where the
config is made, and a training whose loss or weights stop being finite fails with one line naming the
settings, registers nothing, promotes nothing, and ends its MLflow run FAILED."""

from __future__ import annotations

import math

import pytest

from tests.training.test_trainer import _examples
from uae_core.data.schema import LoadOptions
from uae_core.labeling.candidates import CandidateConfig
from uae_core.labeling.teacher import TeacherConfig
from uae_core.training.trainer import NonFiniteLossError, TrainConfig, train_student
from uae_core.validation import ConfigError

NON_FINITE = [math.nan, math.inf, -math.inf]


@pytest.mark.parametrize("value", NON_FINITE, ids=["nan", "inf", "-inf"])
@pytest.mark.parametrize("make,field", [
    (lambda v: TrainConfig(learning_rate=v), "TrainConfig.learning_rate"),
    (lambda v: TrainConfig(margin=v), "TrainConfig.margin"),
    (lambda v: TrainConfig(tau_s=v), "TrainConfig.tau_s"),
    (lambda v: TrainConfig(tau_t=v), "TrainConfig.tau_t"),
    (lambda v: TrainConfig(weight_decay=v), "TrainConfig.weight_decay"),
    (lambda v: TrainConfig(lam=v), "TrainConfig.lam"),
    (lambda v: TrainConfig(warmup_fraction=v), "TrainConfig.warmup_fraction"),
    (lambda v: TrainConfig(merge_shares=[0.0, v]), "TrainConfig.merge_shares"),
    (lambda v: LoadOptions(dev_fraction=v), "LoadOptions.dev_fraction"),
    (lambda v: LoadOptions(test_fraction=v), "LoadOptions.test_fraction"),
    (lambda v: CandidateConfig(k=v), "CandidateConfig.k"),
    (lambda v: TeacherConfig(batch_size=v), "TeacherConfig.batch_size"),
], ids=lambda x: x if isinstance(x, str) else "")
def test_every_float_setting_refuses_nan_and_infinity(make, field, value):
    with pytest.raises(ConfigError, match=rf"^{field}: must be a finite number, got "):
        make(value)


def test_a_diverging_training_stops_at_the_first_non_finite_loss(tiny_student_dir):
    from uae_core.retrieval.encoder import load_student

    model = load_student(str(tiny_student_dir), max_seq_length=32)
    losses = []
    config = TrainConfig(learning_rate=1e308, epochs=3, batch_queries=2, warmup_fraction=0.0, max_seq_length=32)
    with pytest.raises(NonFiniteLossError) as caught:
        train_student(model, _examples(), config, on_step=lambda s, m: losses.append(m["loss"]), show_progress=False)
    message = str(caught.value)
    assert "\n" not in message and "training diverged" in message and "learning_rate (1e+308)" in message
    assert message.startswith(("training loss is nan at step ", "training loss is inf at step ",
                               "the student's weights are not finite"))
    assert all(math.isfinite(loss) for loss in losses)  # no NaN step was reported as a step


@pytest.mark.slow
def test_distill_with_a_diverging_training_registers_nothing_and_fails_its_run(tmp_path, tiny_student_dir):
    from mlflow.entities import ViewType

    from uae_core.retrieval.encoder import load_student
    from uae_core.tracking import runs
    from uae_core.tracking.distill import Tracking, distill
    from uae_core.tracking.registry import champion_uri

    client = runs.configure(f"sqlite:///{tmp_path / 'mlflow.db'}")
    model = load_student(str(tiny_student_dir), max_seq_length=32)
    config = TrainConfig(learning_rate=1e308, epochs=2, batch_queries=2, warmup_fraction=0.0, max_seq_length=32)
    with pytest.raises(NonFiniteLossError, match="lower learning_rate"):
        distill(_examples(), config, model, Tracking(client, "nan", str(tmp_path / "artifacts")),
                evaluate_dev=lambda m: {"map": 0.0}, show_progress=False)
    assert client.search_model_versions("name = 'uae-encoder-nan'") == []
    assert champion_uri(client, "nan") is None
    (experiment,) = [e for e in client.search_experiments(view_type=ViewType.ALL) if e.name.endswith("nan")]
    (run,) = client.search_runs([experiment.experiment_id])
    assert run.info.status == "FAILED" and "training diverged" in run.data.tags["failure"]
