"""Merging the trained student back toward its base (WiSE-FT), the share chosen on dev, on a tiny random
student; through distill, with a real MLflow store and real dev retrieval metrics."""

import pytest
import torch

from tests.training.test_trainer import TOPICS, _examples
from uae_core.data import Passage, Query
from uae_core.evaluation.compare import dev_metrics
from uae_core.retrieval.encoder import load_student
from uae_core.training.examples import training_code_digest
from uae_core.training.merge import best_share, choose_merge, dev_score, merge_weights, snapshot
from uae_core.training.trainer import TrainConfig, train_student

CONFIG = TrainConfig(epochs=3, batch_queries=3, learning_rate=3e-3, max_seq_length=32)


def _matrix(weights) -> str:
    return next(k for k, v in weights.items() if v.is_floating_point() and v.ndim == 2)


def _trained(tiny_student_dir):
    model = load_student(str(tiny_student_dir), max_seq_length=32)
    base = snapshot(model)
    train_student(model, _examples(), CONFIG, show_progress=False)
    return model, base


def test_merge_weights_interpolates_between_trained_and_base(tiny_student_dir):
    model, base = _trained(tiny_student_dir)
    trained = snapshot(model)
    name = _matrix(base)
    assert not torch.allclose(trained[name], base[name])
    merge_weights(model, base, 0.5)
    assert torch.allclose(model.state_dict()[name], 0.5 * trained[name] + 0.5 * base[name], atol=1e-6)


def test_choose_merge_keeps_the_share_with_the_best_dev_score(tiny_student_dir):
    model, base = _trained(tiny_student_dir)
    trained = snapshot(model)
    name = _matrix(base)
    target = 0.7 * trained[name] + 0.3 * base[name]  # a "dev split" that rewards share 0.3 most
    calls = []

    def evaluate(m):
        distance = (m.state_dict()[name] - target).norm().item()
        calls.append(distance)
        return {"success@1": -distance, "map": -distance}

    choice = choose_merge(model, base, (0.0, 0.3, 0.6), evaluate)
    assert choice.share == 0.3 and len(calls) == 3
    assert torch.allclose(model.state_dict()[name], target, atol=1e-6)  # the model holds the kept share
    assert choice.dev_metrics["map"] == pytest.approx(-calls[1])
    assert max(choice.scores, key=choice.scores.get) == 0.3


def test_one_share_or_no_dev_split_applies_the_first_share_without_extra_scoring(tiny_student_dir):
    model, base = _trained(tiny_student_dir)
    trained = snapshot(model)
    name = _matrix(base)
    calls = []
    choice = choose_merge(model, base, (0.5,), lambda m: calls.append(1) or {"success@1": 0.1, "map": 0.2})
    assert choice.share == 0.5 and len(calls) == 1 and choice.dev_metrics == {"success@1": 0.1, "map": 0.2}
    assert torch.allclose(model.state_dict()[name], 0.5 * trained[name] + 0.5 * base[name], atol=1e-6)
    model.load_state_dict(trained)
    assert choose_merge(model, base, (0.0, 0.5), None).share == 0.0
    assert torch.equal(model.state_dict()[name], trained[name])


def test_best_share_rules():
    assert best_share({0.0: 0.2, 0.5: 0.3}, (0.0, 0.5)) == 0.5
    assert best_share({0.0: 0.3, 0.5: 0.3}, (0.0, 0.5)) == 0.0  # a tie keeps the earlier (the plain student)
    assert best_share({0.0: None, 0.5: None}, (0.5, 0.0)) == 0.5  # no dev questions with gold: the first
    assert dev_score({}) is None and dev_score({"success@1": 0.2, "map": 0.4}) == pytest.approx(0.3)


@pytest.mark.parametrize("shares, field_error", [((), "needs at least one"), ((0.0, 1.0), "must be in [0, 1)"),
                                                 ((0.5, 0.5), "twice")])
def test_train_config_rejects_bad_merge_shares(shares, field_error):
    with pytest.raises(ValueError, match="merge_shares") as err:
        TrainConfig(merge_shares=shares)
    assert field_error in str(err.value)
    assert TrainConfig(merge_shares=[0, 0.5]).merge_shares == (0.0, 0.5)  # a list (Dagster config) is accepted


def test_distill_registers_the_dev_chosen_merge_and_logs_every_share(tmp_path, tiny_student_dir):
    """Real dev retrieval metrics on a tiny corpus: the registered weights are the kept share's, MLflow has
    the share and each share's dev score, and the logged dev metrics are the kept share's."""
    from uae_core.retrieval.encoder import weights_digest
    from uae_core.tracking import runs
    from uae_core.tracking.distill import Tracking, distill
    from uae_core.tracking.registry import local_copy

    passages = [Passage(f"p{i}", "doc", "s", f"This section describes our {t} model in detail.")
                for i, t in enumerate(TOPICS)]
    queries = [Query(f"q{i}", "doc", f"How does the {t} model work?", ("A",), ("",), (f"p{i}",), "dev")
               for i, t in enumerate(TOPICS)]
    client = runs.configure(f"sqlite:///{tmp_path / 'mlflow.db'}")
    model = load_student(str(tiny_student_dir), max_seq_length=32)
    config = TrainConfig(**{**CONFIG.__dict__, "merge_shares": (0.0, 0.5, 0.9)})
    result = distill(_examples(), config, model, Tracking(client, "d", str(tmp_path / "artifacts")),
                     evaluate_dev=lambda m: dev_metrics(m, passages, queries, "corpus", tmp_path / "cache"),
                     show_progress=False)
    merge = result.merge
    assert set(merge.scores) == {0.0, 0.5, 0.9} and merge.share == best_share(merge.scores, (0.0, 0.5, 0.9))
    assert result.dev_metrics == merge.dev_metrics and dev_score(merge.dev_metrics) == merge.scores[merge.share]
    run = client.get_run(result.run_id)
    assert run.data.metrics["merge_share"] == merge.share
    assert run.data.params["train_queries"] == str(len(_examples()))
    assert run.data.tags["training_code"] == training_code_digest()  # what the training key's code part is
    assert run.data.metrics["dev_map"] == pytest.approx(merge.dev_metrics["map"])
    history = {m.step: m.value for m in client.get_metric_history(result.run_id, "merge_dev_score")}
    assert history == pytest.approx({0: merge.scores[0.0], 50: merge.scores[0.5], 90: merge.scores[0.9]})
    registered = load_student(str(local_copy(result.encoder.model_uri, tmp_path / "dl")), max_seq_length=32)
    assert weights_digest(registered) == weights_digest(model)


def test_a_screen_scores_the_shares_and_the_dev_score_only_the_kept_one(tiny_student_dir):
    """With `screen` (the pool of evaluation.screen), each share costs a screen call and the whole-corpus
    `evaluate_dev` runs once, on the kept share: its metrics are the choice's dev metrics."""
    model, base = _trained(tiny_student_dir)
    trained = snapshot(model)
    name = _matrix(base)
    target = 0.4 * trained[name] + 0.6 * base[name]
    screened, evaluated = [], []

    def screen(m):
        screened.append(1)
        distance = (m.state_dict()[name] - target).norm().item()
        return {"success@1": -distance, "map": -distance}

    def evaluate(m):
        evaluated.append(snapshot(m)[name])
        return {"success@1": 0.25, "map": 0.5}

    choice = choose_merge(model, base, (0.0, 0.6, 0.9), evaluate, screen)
    assert choice.share == 0.6 and choice.screened and len(screened) == 3
    assert len(evaluated) == 1 and torch.allclose(evaluated[0], target, atol=1e-6)  # the kept share, once
    assert choice.dev_metrics == {"success@1": 0.25, "map": 0.5}
    assert max(choice.scores, key=choice.scores.get) == 0.6


def test_distill_with_a_screen_logs_screen_scores_and_whole_corpus_dev_metrics(tmp_path, tiny_student_dir):
    from uae_core.evaluation.screen import screen_metrics, screening_pool
    from uae_core.tracking import runs
    from uae_core.tracking.distill import Tracking, distill

    passages = [Passage(f"p{i}", f"doc{i % 2}", "s", f"This section describes our {t} model in detail.")
                for i, t in enumerate(TOPICS)]
    queries = [Query(f"q{i}", f"doc{i % 2}", f"How does the {t} model work?", ("A",), ("",), (f"p{i}",), "dev")
               for i, t in enumerate(TOPICS)]
    client = runs.configure(f"sqlite:///{tmp_path / 'mlflow.db'}")
    model = load_student(str(tiny_student_dir), max_seq_length=32)
    pool = screening_pool(passages, queries, "corpus", model, tmp_path / "cache", top=1)
    whole = []
    result = distill(_examples(), TrainConfig(**{**CONFIG.__dict__, "merge_shares": (0.0, 0.5)}), model,
                     Tracking(client, "d", str(tmp_path / "artifacts")),
                     evaluate_dev=lambda m: whole.append(1) or dev_metrics(m, passages, queries, "corpus",
                                                                           tmp_path / "cache"),
                     screen_dev=lambda m: screen_metrics(m, pool, queries, "corpus", tmp_path / "cache"),
                     show_progress=False)
    assert result.merge.screened and len(whole) == 2  # the base before training, the kept share after
    assert result.dev_metrics == dev_metrics(model, passages, queries, "corpus", tmp_path / "cache")
    history = {m.step: m.value for m in client.get_metric_history(result.run_id, "merge_screen_score")}
    assert history == pytest.approx({0: result.merge.scores[0.0], 50: result.merge.scores[0.5]})
    assert client.get_metric_history(result.run_id, "merge_dev_score") == []
