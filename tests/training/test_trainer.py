"""The training loop on a tiny random student: losses fall and the useful passage climbs the ranking."""

import numpy as np
import pytest

from uae_core.data import Passage, Query
from uae_core.labeling.candidates import CandidateSet
from uae_core.retrieval.encoder import encode, load_student
from uae_core.training.examples import TrainExample, build_examples
from uae_core.training.trainer import OBJECTIVES, TrainConfig, batch_loss, train_student

TOPICS = ["graph neural networks", "speech recognition", "machine translation", "sentiment lexicons",
          "question answering", "named entities"]


def _examples():
    out = []
    for i, topic in enumerate(TOPICS):
        useful = f"This section describes our {topic} model in detail."
        distractors = [f"This section describes our {TOPICS[(i + j) % len(TOPICS)]} model in detail."
                       for j in (1, 2, 3)]
        out.append(TrainExample(f"How does the {topic} model work?", (f"u{i}", f"d{i}a", f"d{i}b", f"d{i}c"),
                                (useful, *distractors), (1.0, -0.5, -0.6, -0.4), (True, False, False, False)))
    return out


@pytest.mark.parametrize("objective", OBJECTIVES)
def test_training_lowers_the_loss(tiny_student_dir, objective):
    model = load_student(str(tiny_student_dir), max_seq_length=32)
    examples = _examples()
    config = TrainConfig(objective=objective, epochs=12, batch_queries=3, learning_rate=3e-3,
                         max_seq_length=32, warmup_fraction=0.0)
    first = batch_loss(model, examples[:3], config).item()
    steps = []
    result = train_student(model, examples, config, on_step=lambda s, m: steps.append(m["loss"]),
                           show_progress=False)
    assert result.steps == len(steps) == 12 * 2
    assert result.epoch_losses[-1] < result.epoch_losses[0]
    assert batch_loss(model, examples[:3], config).item() < first


def test_uae_objective_ranks_useful_passage_first(tiny_student_dir):
    model = load_student(str(tiny_student_dir), max_seq_length=32)
    examples = _examples()

    def useful_rank_share():
        hits = 0
        for ex in examples:
            q = encode(model, [ex.question])[0]
            d = encode(model, list(ex.passages))
            hits += int(np.argmax(d @ q) == 0)
        return hits / len(examples)

    before = useful_rank_share()
    train_student(model, examples, TrainConfig(epochs=15, batch_queries=3, learning_rate=3e-3, max_seq_length=32),
                  show_progress=False)
    assert useful_rank_share() > before and useful_rank_share() >= 5 / 6


def test_build_examples_joins_labels_and_drops_unlabeled():
    passages = {p: Passage(p, "x", "s", p.upper()) for p in ("a", "b", "c")}
    queries = {"q": Query("q", "x", "Q?", ("A",), ("",), ("b",), "train"),
               "r": Query("r", "x", "R?", ("A",), ("",), (), "train")}
    sets = [CandidateSet("q", ("a", "b", "c")), CandidateSet("r", ("a", "b"))]
    examples = build_examples(sets, {"q": {"a": 0.1, "b": 0.5}, "r": {"a": 0.2}}, queries, passages)
    assert len(examples) == 1  # r has one labeled candidate: nothing to contrast
    assert examples[0].passage_ids == ("a", "b") and examples[0].utilities == (0.1, 0.5)
    assert examples[0].is_gold == (False, True)


def test_train_result_counts_the_questions_trained_on(tiny_student_dir):
    examples = _examples()
    result = train_student(load_student(str(tiny_student_dir), max_seq_length=32), examples,
                           TrainConfig(epochs=1, batch_queries=2, learning_rate=1e-4, max_seq_length=32),
                           show_progress=False)
    assert (result.trained_queries, result.steps) == (6, 3)
