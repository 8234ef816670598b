"""Training for the hybrid (TrainConfig.lexical_weight): the loss sees the student's score plus BM25's share,
so a candidate BM25 already ranks where the teacher wants it needs less from the student (CLEAR's residual)."""

import dataclasses

import numpy as np
import pytest

from tests.training.test_trainer import _examples
from uae_core.data import Passage, Query
from uae_core.labeling.candidates import CandidateSet
from uae_core.retrieval.bm25 import BM25Index
from uae_core.retrieval.encoder import load_student
from uae_core.retrieval.fusion import lexical_shares
from uae_core.training.examples import build_examples, training_key
from uae_core.training.trainer import TrainConfig, batch_loss, train_student


def test_lexical_shares_are_what_convex_fusion_gives_bm25():
    texts = ["cats purr when content", "cats and dogs", "proofs of theorems", "dogs bark", "cats cats cats purr"]
    passages = [Passage(f"A::0::{i}", "A" if i < 3 else "B", "s", t) for i, t in enumerate(texts)]
    query = Query("q", "A", "why do cats purr", (), (), (), "train")
    shares = lexical_shares(BM25Index(texts), passages, [query], "corpus")["q"]
    assert max(shares.values()) == 1.0 and all(0 < v <= 1 for v in shares.values())
    assert "A::0::2" not in shares  # no query term: outside BM25's list, 0
    in_scope = lexical_shares(BM25Index(texts), passages, [query], "document")["q"]
    assert set(in_scope) <= {"A::0::0", "A::0::1"}  # only the question's own document


def test_bm25_already_right_means_less_loss_and_bm25_wrong_more(tiny_student_dir):
    model = load_student(str(tiny_student_dir), max_seq_length=32)
    examples = _examples()  # candidate 0 is the useful one
    right = [dataclasses.replace(ex, lexical=(1.0, 0.0, 0.0, 0.0)) for ex in examples]
    wrong = [dataclasses.replace(ex, lexical=(0.0, 1.0, 1.0, 1.0)) for ex in examples]
    plain = TrainConfig(in_batch_negatives=False)
    hybrid = TrainConfig(in_batch_negatives=False, lexical_weight=0.35)
    for objective in ("uae", "kl", "umi"):
        base = batch_loss(model, right, dataclasses.replace(plain, objective=objective)).item()
        helped = batch_loss(model, right, dataclasses.replace(hybrid, objective=objective)).item()
        hurt = batch_loss(model, wrong, dataclasses.replace(hybrid, objective=objective)).item()
        assert helped < base < hurt, objective
    with pytest.raises(ValueError, match="lexical"):
        batch_loss(model, examples, hybrid)  # examples built without BM25's shares


def test_build_examples_carries_the_shares_and_the_key_sees_them(tiny_student_dir):
    texts = [f"paragraph {i} about {'cats' if i % 2 else 'proofs'}" for i in range(4)]
    passages = {f"p{i}": Passage(f"p{i}", "A", "s", t) for i, t in enumerate(texts)}
    queries = {"q": Query("q", "A", "tell me about cats", ("x",), ("",), (), "train")}
    sets = [CandidateSet("q", ("p0", "p1", "p3"))]
    utilities = {"q": {"p0": 0.1, "p1": 0.5, "p3": 0.2}}
    shares = lexical_shares(BM25Index(texts), list(passages.values()), list(queries.values()), "corpus")
    (ex,) = build_examples(sets, utilities, queries, passages, lexical=shares)
    assert ex.lexical == tuple(shares["q"].get(p, 0.0) for p in ("p0", "p1", "p3")) and ex.lexical[0] == 0.0
    (plain,) = build_examples(sets, utilities, queries, passages)
    assert plain.lexical == ()
    assert training_key([ex], TrainConfig(), "b", "c") != training_key([plain], TrainConfig(), "b", "c")
    result = train_student(load_student(str(tiny_student_dir), max_seq_length=32), [ex, ex],
                           TrainConfig(epochs=1, batch_queries=2, lexical_weight=0.35, max_seq_length=32),
                           show_progress=False)
    assert result.steps == 1 and np.isfinite(result.epoch_losses[0])
