"""The graded signal: a cross-encoder fitted to the teacher's utilities, cross-fitted, blended into the labels."""

import pytest
import torch

from tests.training.test_trainer import TOPICS, _examples
from uae_core.retrieval.encoder import load_student, weights_digest
from uae_core.training import reranker
from uae_core.training.examples import TrainExample, signal_top_is_gold
from uae_core.training.reranker import (
    RerankerConfig,
    blend_utilities,
    cross_encoder_from,
    pair_logits,
    reranker_utilities,
    train_cross_encoder,
)
from uae_core.training.trainer import TrainConfig, train_student


def test_cross_encoder_starts_from_the_students_weights_with_a_fresh_head(tiny_student_dir):
    student = load_student(str(tiny_student_dir), max_seq_length=32)
    model = cross_encoder_from(student)
    backbone = getattr(model, model.base_model_prefix).state_dict()
    for name, tensor in student[0].auto_model.state_dict().items():
        assert torch.equal(backbone[name], tensor), name
    assert model.config.num_labels == 1


def test_the_cross_encoder_learns_the_teachers_preference(tiny_student_dir):
    student = load_student(str(tiny_student_dir), max_seq_length=32)
    examples = [TrainExample(f"What does the {topic} study find?", ("u", "a", "b", "c"),
                             (f"The {topic} results are reported in table {i}.",
                              *(f"Acknowledgements: funding for project {i}{j}." for j in "abc")),
                             (1.0, -0.5, -0.6, -0.4), (True, False, False, False)) for i, topic in enumerate(TOPICS)]
    config = RerankerConfig(epochs=10, batch_queries=3, learning_rate=3e-3, warmup_fraction=0.0, max_seq_length=32)

    def useful_first(model) -> int:
        with torch.inference_mode():
            return sum(int(pair_logits(model, student.tokenizer, [(ex.question, p) for p in ex.passages], 32, 16)
                           .argmax()) == 0 for ex in examples)

    before = useful_first(cross_encoder_from(student))
    after = useful_first(train_cross_encoder(student, examples, config, show_progress=False))
    assert after == len(examples) > before, (before, after)


def test_scores_are_cross_fitted_on_the_teachers_scale_and_leave_the_student_alone(tiny_student_dir, monkeypatch):
    student = load_student(str(tiny_student_dir), max_seq_length=32)
    digest = weights_digest(student)
    examples = _examples()
    trained_on = []
    real = reranker.train_cross_encoder

    def recording(student, train, config, show_progress=True):
        trained_on.append({ex.question for ex in train})
        return real(student, train, config, show_progress)

    monkeypatch.setattr(reranker, "train_cross_encoder", recording)
    scores = reranker_utilities(student, examples, RerankerConfig(folds=3, max_seq_length=32), show_progress=False)
    questions = {ex.question for ex in examples}
    held_out = [questions - t for t in trained_on]
    assert len(held_out) == 3 and all(held_out)  # every fold held some questions out of its cross-encoder
    assert set().union(*held_out) == questions and sum(map(len, held_out)) == len(questions)  # a partition
    for ex, row in zip(examples, scores, strict=True):
        assert len(row) == len(ex.passages)
        assert sum(row) / len(row) == pytest.approx(sum(ex.utilities) / len(ex.utilities), abs=1e-5)
    assert weights_digest(student) == digest


def test_one_fold_scores_the_questions_it_trained_on(tiny_student_dir, monkeypatch):
    student = load_student(str(tiny_student_dir), max_seq_length=32)
    examples = _examples()
    trained_on = []
    real = reranker.train_cross_encoder
    monkeypatch.setattr(reranker, "train_cross_encoder", lambda student, train, config, show_progress=True: (
        trained_on.append({ex.question for ex in train}) or real(student, train, config, show_progress)))
    scores = reranker_utilities(student, examples, RerankerConfig(folds=1, max_seq_length=32), show_progress=False)
    assert trained_on == [{ex.question for ex in examples}] and len(scores) == len(examples)


def test_blend_mixes_teacher_and_reranker():
    examples = _examples()[:2]
    rows = [tuple(-u for u in ex.utilities) for ex in examples]
    assert blend_utilities(examples, rows, 0.0) == examples
    assert [ex.utilities for ex in blend_utilities(examples, rows, 1.0)] == rows
    half = blend_utilities(examples, rows, 0.5)
    assert all(u == pytest.approx(0.0) for ex in half for u in ex.utilities)
    assert signal_top_is_gold(examples) == 1.0 and signal_top_is_gold(blend_utilities(examples, rows, 1.0)) == 0.0
    with pytest.raises(ValueError, match="reranker_mix"):
        blend_utilities(examples, rows, 1.5)
    with pytest.raises(ValueError, match="1 reranker score rows for 2 examples"):
        blend_utilities(examples, rows[:1], 0.5)


@pytest.mark.parametrize("bad", [{"folds": 0}, {"epochs": 0}, {"tau_t": 0.0}])
def test_reranker_config_names_the_bad_field(bad):
    with pytest.raises(ValueError, match=next(iter(bad))):
        RerankerConfig(**bad)


def test_more_folds_than_questions_is_refused(tiny_student_dir):
    student = load_student(str(tiny_student_dir), max_seq_length=32)
    with pytest.raises(ValueError, match="folds"):
        reranker_utilities(student, _examples()[:2], RerankerConfig(folds=3), show_progress=False)


def test_train_student_with_reranker_mix_reports_the_graded_signal(tiny_student_dir):
    examples = _examples()
    config = dict(epochs=1, batch_queries=3, learning_rate=1e-4, max_seq_length=32)
    plain = train_student(load_student(str(tiny_student_dir), max_seq_length=32), examples, TrainConfig(**config),
                          show_progress=False)
    assert plain.reranker_seconds == 0 and plain.signal_top_is_gold == 1.0  # the teacher's own labels
    graded = train_student(load_student(str(tiny_student_dir), max_seq_length=32), examples,
                           TrainConfig(**config, reranker_mix=1.0), show_progress=False)
    assert 0 < graded.reranker_seconds < graded.seconds and graded.steps == plain.steps
    assert graded.signal_top_is_gold is not None
    gold = train_student(load_student(str(tiny_student_dir), max_seq_length=32), examples,
                         TrainConfig(**config, objective="gold", reranker_mix=1.0), show_progress=False)
    assert gold.reranker_seconds == 0  # the hard-label baseline has no utilities to grade
    with pytest.raises(ValueError, match="reranker_mix"):
        TrainConfig(reranker_mix=-0.1)
    with pytest.raises(ValueError, match="reranker_folds"):
        TrainConfig(reranker_folds=0)
