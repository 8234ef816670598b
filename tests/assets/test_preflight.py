"""preflight: a domain whose evaluated split has no question with gold stops before any work, and the
line says what to change, by what the loader saw (gold ids naming no passage, or no question there)."""

import json

import pytest

from uae_assets.domains import Domain
from uae_assets.run_config import RunConfigError, preflight


def _jsonl_domain(tmp_path, gold: str, split: str = "") -> Domain:
    folder = tmp_path / "own"
    folder.mkdir()
    passages = [{"id": f"p{i}", "text": f"passage number {i} about topic {i % 7}", "doc_id": f"d{i // 5}"}
                for i in range(60)]
    questions = [{"id": f"q{i}", "question": f"what about topic {i % 7}?", "answers": ["it"],
                  "gold_ids": [gold.format(i=i)], **({"split": split} if split else {})} for i in range(40)]
    (folder / "passages.jsonl").write_text("\n".join(json.dumps(p) for p in passages))
    (folder / "questions.jsonl").write_text("\n".join(json.dumps(q) for q in questions))
    return Domain("own", folder, format="jsonl")


def test_gold_ids_that_name_no_passage_are_blamed_not_the_split_fractions(tmp_path):
    with pytest.raises(RunConfigError) as error:
        preflight(_jsonl_domain(tmp_path, "missing-{i}"), {})
    assert "40 gold ids (gold_ids, qrels or evidence) name no passage of the corpus" in str(error.value)
    assert "split fractions" not in str(error.value)


def test_every_question_in_train_says_its_own_split_field_wins(tmp_path):
    with pytest.raises(RunConfigError) as error:
        preflight(_jsonl_domain(tmp_path, "p{i}", split="train"), {})
    assert "the 'test' split has 0 questions" in str(error.value)
    assert "a question's own `split` field wins" in str(error.value)


def test_a_domain_with_gold_in_every_split_passes_and_returns_its_corpus(tmp_path):
    checked = preflight(_jsonl_domain(tmp_path, "p{i}"), {"ops": {"corpus": {"config": {}}}})
    assert len(checked.corpus.passages) == 60 and len(checked.corpus.queries) == 40


def test_the_corpus_step_says_what_the_run_works_on(tmp_path):
    from collections import Counter

    from uae_assets.assets.corpus import corpus_summary

    loaded = preflight(_jsonl_domain(tmp_path, "p{i}"), {}).corpus
    splits = Counter(q.split for q in loaded.queries)
    line = corpus_summary(loaded, splits)
    assert line.startswith("60 passages in 12 documents; 40 questions (train ")
    assert f"dev {splits['dev']}, test {splits['test']}), 40 with gold evidence, 40 with reference answers" in line
    loaded.report.documents = 60  # every passage its own document (a BEIR corpus of abstracts)
    assert corpus_summary(loaded, splits).startswith("60 passages each its own document; ")
