"""Shared fixtures: tiny randomly initialised models and a temporary JSON writer (helpers.py has the rest)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest


@pytest.fixture
def write_json(tmp_path):
    def write(obj, name: str = "corpus.json") -> Path:
        path = tmp_path / name
        path.write_text(json.dumps(obj))
        return path
    return write


@pytest.fixture(scope="session")
def minilm_dir() -> Path:
    from uae_core.weights import DEFAULT_STUDENT, packaged_location
    return packaged_location(DEFAULT_STUDENT)[0]


@pytest.fixture(scope="session")
def tiny_student_dir(tmp_path_factory, minilm_dir) -> Path:
    """A 2-layer, 32-wide BERT with random weights and MiniLM's tokenizer, as a sentence-transformers dir."""
    import torch
    from sentence_transformers import SentenceTransformer, models
    from transformers import AutoTokenizer, BertConfig, BertModel

    torch.manual_seed(0)
    out = tmp_path_factory.mktemp("tiny_student")
    tokenizer = AutoTokenizer.from_pretrained(minilm_dir)
    config = BertConfig(vocab_size=tokenizer.vocab_size, hidden_size=32, num_hidden_layers=2,
                        num_attention_heads=2, intermediate_size=64, max_position_embeddings=256)
    hf_dir = out / "hf"
    BertModel(config).save_pretrained(hf_dir)
    tokenizer.save_pretrained(hf_dir)
    transformer = models.Transformer(str(hf_dir), max_seq_length=64)
    pooling = models.Pooling(32, pooling_mode="mean")
    SentenceTransformer(modules=[transformer, pooling]).save(str(out / "st"))
    return out / "st"


@pytest.fixture(scope="session")
def tiny_teacher_dir(tmp_path_factory, minilm_dir) -> Path:
    """A 2-layer Llama with random weights (and MiniLM's tokenizer): a real causal LM, seconds to run."""
    import torch
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    out = tmp_path_factory.mktemp("tiny_teacher")
    tokenizer = AutoTokenizer.from_pretrained(minilm_dir)
    config = LlamaConfig(vocab_size=tokenizer.vocab_size, hidden_size=32, intermediate_size=64,
                         num_hidden_layers=2, num_attention_heads=2, num_key_value_heads=2,
                         max_position_embeddings=512, pad_token_id=tokenizer.pad_token_id)
    LlamaForCausalLM(config).save_pretrained(out)
    tokenizer.save_pretrained(out)
    return out
