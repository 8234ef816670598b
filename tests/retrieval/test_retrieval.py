
import numpy as np

from uae_core.data import Passage, Query
from uae_core.labeling.candidates import build_candidate_sets, gold_recall
from uae_core.retrieval.bm25 import BM25Index
from uae_core.retrieval.index import build_index, exact_search, load_index, save_index, search, top_k
from uae_core.retrieval.ranking import merge_rankings, scope_rows


def _unit(rng, n, d=16):
    x = rng.standard_normal((n, d)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def test_faiss_search_matches_brute_force_and_respects_scope(tmp_path):
    rng = np.random.default_rng(0)
    docs, queries = _unit(rng, 200), _unit(rng, 5)
    index = load_index(save_index(build_index(docs), tmp_path / "i.faiss"))
    assert index.ntotal == 200
    brute = np.argsort(-(queries @ docs.T), axis=1)[:, :10]
    for got, want in zip(search(index, queries, 10), brute):
        assert list(got) == list(want)
    allowed = [np.arange(i * 20, i * 20 + 20) for i in range(5)]
    for i, got in enumerate(search(index, queries, 5, allowed)):
        assert set(got) <= set(allowed[i]) and len(got) == 5
        assert got[0] == allowed[i][np.argmax(docs[allowed[i]] @ queries[i])]


def test_exact_search_ranks_like_the_faiss_index():
    rng = np.random.default_rng(3)
    docs, queries = _unit(rng, 300), _unit(rng, 6)
    allowed = [np.arange(i * 30, i * 30 + 30) for i in range(6)]
    index = build_index(docs)
    for scope in (None, allowed):
        for got, want in zip(exact_search(docs, queries, 25, scope), search(index, queries, 25, scope)):
            assert list(got) == list(want)


def test_gold_source_puts_every_gold_passage_among_the_candidates():
    passages = [Passage(f"A::0::{i}", "A", "s", f"paragraph {i} about {'cats' if i < 3 else 'proofs'}")
                for i in range(8)]
    queries = [Query("q", "A", "tell me about cats", ("x",), ("",), ("A::0::6", "A::0::7"), "train")]
    rng = np.random.default_rng(2)
    p_emb, q_emb = _unit(rng, len(passages)), _unit(rng, 1)
    without = build_candidate_sets(passages, queries, 3, "corpus", {"dense": (p_emb, q_emb)}, ("bm25",))
    assert not set(without[0].passage_ids) & {"A::0::6", "A::0::7"}  # BM25 alone misses the gold
    with_gold = build_candidate_sets(passages, queries, 4, "corpus", {"dense": (p_emb, q_emb)}, ("gold", "bm25"))
    assert {"A::0::6", "A::0::7"} <= set(with_gold[0].passage_ids) and len(with_gold[0].passage_ids) == 4
    assert gold_recall(with_gold, queries) == 1.0


def test_top_k_and_merge():
    scores = np.array([0.1, 0.9, 0.5, 0.7])
    assert list(top_k(scores, 2)) == [1, 3]
    assert list(top_k(scores, 2, np.array([0, 2]))) == [2, 0]
    assert merge_rankings([[1, 2, 3], [2, 4, 5]], 4) == [1, 2, 4, 3]


def test_candidates_in_paper_scope_stay_in_the_paper():
    passages = [Passage(f"{paper}::0::{i}", paper, "s", f"{paper} text about {'cats' if i == 0 else 'dogs'} {i}")
                for paper in ("A", "B") for i in range(4)]
    queries = [Query("q", "A", "tell me about cats", ("x",), ("",), ("A::0::0",), "train")]
    rng = np.random.default_rng(1)
    p_emb, q_emb = _unit(rng, len(passages)), _unit(rng, 1)
    sets = build_candidate_sets(passages, queries, 3, "paper", {"dense": (p_emb, q_emb)})
    assert len(sets[0].passage_ids) == 3 and all(pid.startswith("A::") for pid in sets[0].passage_ids)
    assert sets[0].passage_ids[0] == "A::0::0"  # BM25's best comes first in the round robin
    assert gold_recall(sets, queries) == 1.0
    assert scope_rows(passages, queries, "corpus") is None


def test_bm25_ranks_the_matching_passage_first():
    bm25 = BM25Index(["the cat sat on the mat", "dogs bark loudly", "a quantum computer"])
    assert int(np.argmax(bm25.scores("which cat sat"))) == 0
    assert not bm25.scores("unseenword").any()


def test_train_selection_is_capped_stable_and_train_only():
    from uae_core.labeling.candidates import select_train_queries
    queries = [Query(f"q{i}", "x", "?", ("a",), ("",), (), "train" if i % 5 else "test") for i in range(100)]
    picked = select_train_queries(queries, 10)
    assert len(picked) == 10 and all(q.split == "train" for q in picked)
    assert len(select_train_queries(queries, 0)) == 80
    more = queries + [Query(f"new{i}", "y", "?", ("a",), ("",), (), "train") for i in range(20)]
    # Adding questions only inserts them into the fixed order: the old ones keep their relative order.
    old_order = [q.query_id for q in select_train_queries(more, 0) if not q.query_id.startswith("new")]
    assert old_order == [q.query_id for q in select_train_queries(queries, 0)]


def test_candidate_sets_are_kept_while_their_texts_are_unchanged():
    from uae_core.labeling.candidates import CandidateSet, snapshot, still_valid
    passages = {f"p{i}": Passage(f"p{i}", "x", "s", f"text {i}") for i in range(4)}
    queries = [Query(f"q{i}", "x", f"question {i}", ("a",), ("",), (), "train") for i in range(3)]
    sets = [CandidateSet(f"q{i}", (f"p{i}", f"p{i + 1}")) for i in range(3)]
    snap = snapshot(sets, {q.query_id: q for q in queries}, passages)
    assert still_valid(snap, queries, passages) == {s.query_id: s for s in sets}
    edited = {**passages, "p1": Passage("p1", "x", "s", "changed")}
    changed_question = [queries[0], queries[1], Query("q2", "x", "reworded?", ("a",), ("",), (), "train")]
    assert set(still_valid(snap, queries, edited)) == {"q2"}  # q0 and q1 use p1
    assert set(still_valid(snap, changed_question, passages)) == {"q0", "q1"}
    assert set(still_valid(snap, queries, {k: v for k, v in passages.items() if k != "p3"})) == {"q0", "q1"}
