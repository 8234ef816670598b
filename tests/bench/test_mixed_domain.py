"""bench.mixed_domain: both shared domains in one jsonl folder that the product's loader reads back whole."""

from bench.mixed_domain import SOURCES, main
from tests.helpers import needs_shared_data
from uae_assets.domains import get_domain
from uae_core.data import load_corpus


@needs_shared_data
def test_the_mixed_domain_holds_every_passage_and_question_of_both_sources(tmp_path):
    assert main(["--out", str(tmp_path)]) == 0
    mixed = load_corpus(tmp_path, "jsonl")
    sources = [load_corpus(get_domain(n).source_file(), get_domain(n).format) for n in SOURCES]
    assert len(mixed.passages) == sum(len(c.passages) for c in sources) > 5000
    assert len(mixed.queries) == sum(len(c.queries) for c in sources)
    by_id = {q.query_id: q for q in mixed.queries}
    for name, corpus in zip(SOURCES, sources):
        q = corpus.queries[0]
        again = by_id[f"{name}/{q.query_id}"]
        assert again.split == q.split and again.answers == q.answers
        assert again.gold_passage_ids == tuple(f"{name}/{g}" for g in q.gold_passage_ids)
    assert "format: jsonl" in (tmp_path / "domains.yaml").read_text()
