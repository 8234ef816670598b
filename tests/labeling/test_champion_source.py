"""The `champion` candidate source: the domain's champion adds the passages it ranks highest on top of the
sticky base sets; the base sets are kept, and without a champion nothing is added."""

import pytest
import torch

from tests.helpers import synthetic_qasper
from uae_core.data import load_corpus
from uae_core.labeling.candidates import CandidateConfig, build_sticky, mine_with_champion
from uae_core.retrieval.encoder import cached_encode, encode, load_student
from uae_core.retrieval.ranking import dense_rank


@pytest.fixture
def corpus(write_json):
    return load_corpus(write_json(synthetic_qasper(12)))


def test_the_champion_adds_its_top_passages_that_the_set_lacks(corpus, tiny_student_dir, tmp_path):
    base = load_student(str(tiny_student_dir), max_seq_length=64)
    champion = load_student(str(tiny_student_dir), max_seq_length=64)
    torch.manual_seed(1)
    with torch.no_grad():  # a different model: its ranking differs from the base's
        for p in champion.parameters():
            p.add_(0.05 * torch.randn_like(p))
    config = CandidateConfig(k=2, sources=["bm25", "dense"], max_train_queries=0)
    state, cache = tmp_path / "state.json", tmp_path / "cache"
    first = build_sticky(corpus.passages, corpus.queries, config, "corpus", base, state, cache)
    assert first.champion_mined == 0 and all(len(s.passage_ids) == 2 for s in first.sets)

    # With the source but no champion yet (the first round): the same sets, nothing mined.
    rounds = CandidateConfig(k=2, sources=["bm25", "dense", "champion"], max_train_queries=0)
    none_yet = build_sticky(corpus.passages, corpus.queries, rounds, "corpus", base, state, cache)
    assert none_yet.sets == first.sets and none_yet.champion_mined == 0 and none_yet.kept == len(first.sets)

    mined = build_sticky(corpus.passages, corpus.queries, rounds, "corpus", base, state, cache, champion=champion)
    assert mined.kept == len(first.sets) and mined.new == 0  # the base sets are sticky across champions
    train = [q for q in corpus.queries if q.split == "train"]
    by_id = {q.query_id: q for q in train}
    ranked = dense_rank(cached_encode(champion, [p.text for p in corpus.passages], cache),
                        encode(champion, [by_id[s.query_id].question for s in first.sets]), 4, None)
    for before, after, rows in zip(first.sets, mined.sets, ranked):
        assert after.passage_ids[:2] == before.passage_ids  # the labeled base set first, unchanged
        added = after.passage_ids[2:]
        expected = [corpus.passages[r].passage_id for r in rows if corpus.passages[r].passage_id
                    not in before.passage_ids][:2]
        assert list(added) == expected and len(added) == 2  # the champion's own order, nothing twice
    assert mined.champion_mined == 2 * len(first.sets)

    # The same champion mines the same passages again (a re-run asks the teacher nothing new).
    again, _ = mine_with_champion(first.sets, corpus.passages, [by_id[s.query_id] for s in first.sets], champion, 2,
                                  "corpus", cache)
    assert again == mined.sets


def test_champion_alone_is_not_a_candidate_source():
    with pytest.raises(ValueError, match="sources"):
        CandidateConfig(sources=["champion"])
