import json
import pickle

import numpy as np
import pytest

from uae_core.data import Passage, Query
from uae_core.retrieval.fusion import Fusion, convex, fuse, fuse_scored, fusion_grid, hybrid_system, tune_fusion
from uae_core.retrieval.index import build_index, search_scored
from uae_core.retrieval.systems import bm25_system


def _scored(rows, values):
    return np.asarray(rows, dtype=np.int64), np.asarray(values, dtype=np.float32)


def test_convex_keeps_a_sure_bm25_hit_that_rrf_lets_a_weak_encoder_demote():
    # BM25 is sure of passage 7 (far ahead); the encoder's top four are nearly tied, 7 fourth.
    bm25 = _scored([7, 5, 3, 9, 1], [12.0, 2.0, 1.9, 1.8, 0.0])
    dense = _scored([3, 5, 9, 7, 1], [0.62, 0.61, 0.60, 0.59, 0.10])
    assert fuse_scored([dense, bm25], Fusion("convex", 0.5))[0] == 7
    assert fuse_scored([dense, bm25], Fusion("rrf", 0.5, k=60))[0] == 3  # ranks only: 3 is 1st and 3rd


@pytest.mark.parametrize("method", ["convex", "rrf"])
def test_a_weight_of_zero_or_one_gives_one_system_unchanged(method):
    bm25, dense = _scored([4, 2, 0, 1], [5.0, 3.0, 1.0, 0.5]), _scored([1, 0, 4, 3], [0.9, 0.7, 0.2, 0.1])
    assert fuse_scored([dense, bm25], Fusion(method, 0.0)).tolist() == [4, 2, 0, 1]
    assert fuse_scored([dense, bm25], Fusion(method, 1.0)).tolist() == [1, 0, 4, 3]


def test_convex_normalises_each_list_so_the_weight_is_scale_free_and_a_flat_list_adds_nothing():
    bm25, dense = _scored([0, 1, 2], [30.0, 20.0, 10.0]), _scored([2, 1, 0], [0.3, 0.2, 0.1])
    scaled = _scored([0, 1, 2], [3.0, 2.0, 1.0])
    for w in (0.3, 0.5, 0.7):
        assert convex([dense, bm25], (w, 1 - w)).tolist() == convex([dense, scaled], (w, 1 - w)).tolist()
    flat = _scored([0, 1, 2], [0.0, 0.0, 0.0])  # BM25 when no query term occurs in the corpus
    assert convex([dense, flat], (0.2, 0.8)).tolist() == [2, 1, 0]
    assert fuse([np.array([0, 1, 2]), np.array([2, 1, 0])], (0.5, 0.5), k=60).tolist() == [0, 2, 1]


def test_fusion_validates_and_reads_what_older_versions_saved_as_rrf():
    with pytest.raises(ValueError, match="method"):
        Fusion("sum", 0.5)
    with pytest.raises(ValueError, match="dense_weight"):
        Fusion("convex", 1.5)
    assert Fusion.from_dict({"dense_weight": 0.6, "k": 30}) == Fusion("rrf", 0.6, 30)  # retriever.json before
    assert Fusion.from_dict(Fusion("convex", 0.2).as_dict()) == Fusion("convex", 0.2)
    old = Fusion("rrf", 0.6, 30)
    state = dict(old.__dict__)
    del state["method"]  # a pickled asset value from before `method` existed
    revived = Fusion.__new__(Fusion)
    revived.__setstate__(state)
    assert revived == old and pickle.loads(pickle.dumps(Fusion("convex", 0.3))) == Fusion("convex", 0.3)


def test_a_retriever_whose_saved_fusion_is_unreadable_names_the_file_and_field(tmp_path):
    from uae_core.retrieval.retriever import Retriever

    (tmp_path / "passages.jsonl").write_text("")
    for bad in ({"method": "sum", "dense_weight": 0.5}, {"weight": 0.5}, "rrf"):
        (tmp_path / "retriever.json").write_text(json.dumps({"model_uri": "m", "fusion": bad}))
        with pytest.raises(ValueError, match=r"retriever\.json: field 'fusion'.*faiss_index"):
            Retriever(tmp_path, encoder=None)


def test_tune_fusion_finds_a_mixture_that_beats_both_systems():
    dense = [_scored([1, 0, 2], [0.9, 0.5, 0.1]), _scored([2, 1, 0], [0.8, 0.7, 0.1])]
    bm25 = [_scored([0, 1, 2], [9.0, 8.0, 1.0]), _scored([0, 2, 1], [5.0, 4.0, 1.0])]
    gold = [0, 2]  # BM25 is right on the first question, the encoder on the second
    dense, bm25, gold = dense * 20, bm25 * 20, gold * 20  # enough questions that a gap is not noise

    def success_at_1(rankings):
        return np.array([float(r[0] == g) for r, g in zip(rankings, gold)])

    fusion, value = tune_fusion(dense, bm25, success_at_1)
    assert value == 1.0 and fusion.method == "convex" and 0.0 < fusion.dense_weight < 1.0
    assert success_at_1([fuse_scored(p, Fusion("convex", 0.0)) for p in zip(dense, bm25)]).mean() == 0.5
    assert {f.method for f in fusion_grid(("convex", "rrf"))} == {"convex", "rrf"}
    assert all(f.method == "convex" for f in fusion_grid())


def test_tune_fusion_leans_on_the_stronger_system_when_dev_cannot_tell_weights_apart():
    """60 dev questions: BM25 ranks gold first on 40, the encoder on 20 (others); mixtures tie in
    expectation, so the choice is the within-noise mixture nearest BM25; a clearly better mixture wins."""
    rng = np.random.default_rng(0)
    dense, bm25, gold = [], [], []
    for i in range(60):
        g, other = 0, 1
        b_first = i < 40
        d_first = i >= 40 or i % 4 == 0
        bm25.append(_scored([g, other, 2] if b_first else [other, g, 2], [5.0, 4.0 + rng.random(), 0.0]))
        dense.append(_scored([g, other, 2] if d_first else [other, g, 2], [0.8, 0.7 + 0.05 * rng.random(), 0.1]))
        gold.append(g)

    def success_at_1(rankings):
        return np.array([float(r[0] == g) for r, g in zip(rankings, gold)])

    fusion, value = tune_fusion(dense, bm25, success_at_1)
    means = {f.dense_weight: success_at_1([fuse_scored(p, f) for p in zip(dense, bm25)]).mean() for f in fusion_grid()}
    assert 0.0 < fusion.dense_weight < 0.5 and value == means[fusion.dense_weight]
    assert value >= max(means.values()) - 0.1  # within reach of the best grid point
    assert fusion.dense_weight <= min(w for w, m in means.items() if 0 < w < 1 and m == max(means.values()))


def test_hybrid_system_fuses_real_bm25_and_faiss_scores():
    texts = ["cats purr on warm laps", "dogs bark at the mail carrier", "proofs use induction on n",
             "feline behaviour: purring cats", "the carrier pigeon flew home"]
    passages = [Passage(f"d::0::{i}", "d", "s", t) for i, t in enumerate(texts)]
    rng = np.random.default_rng(0)
    emb = rng.standard_normal((5, 8)).astype(np.float32)
    emb /= np.linalg.norm(emb, axis=1, keepdims=True)
    bm25 = bm25_system(passages)
    query = Query("q", "d", "why do cats purr", (), (), (), "test")
    rows, scores = bm25.scored([query], None)[0]
    assert rows[0] in (0, 3) and np.all(np.diff(scores) <= 0) and bm25([query], None)[0].tolist() == rows.tolist()
    (drows, dscores), = search_scored(build_index(emb), emb[[3]], 5)
    assert drows[0] == 3 and np.allclose(dscores, emb[drows] @ emb[3], atol=1e-5)

    class Dense:  # a ScoredRanker over the index, the query embedded as passage 3
        def scored(self, queries, allowed):
            return search_scored(build_index(emb), emb[[3]], 5, allowed)

    ranked = hybrid_system(Dense(), bm25, Fusion("convex", 0.5))([query], None)[0]
    assert ranked[0] == 3 and sorted(ranked.tolist()) == [0, 1, 2, 3, 4]
