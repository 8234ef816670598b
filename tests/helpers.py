"""Helpers the tests share: hand-made QASPER files and where the real data lives."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SHARED_DATA = REPO.parent / "shared" / "data"
needs_shared_data = pytest.mark.skipif(not (SHARED_DATA / "qasper").is_dir(),
                                       reason=f"real data not present at {SHARED_DATA} (see its README)")


def make_paper(paragraphs: list[str], qas: list[dict], section: str = "Intro") -> dict:
    return {"title": "t", "abstract": "", "full_text": [{"section_name": section, "paragraphs": paragraphs}],
            "qas": qas}


def make_qa(qid: str, question: str, answer: dict | list[dict]) -> dict:
    answers = answer if isinstance(answer, list) else [answer]
    return {"question": question, "question_id": qid, "answers": [{"answer": a} for a in answers]}


def answer(free_form: str = "", spans: list[str] | None = None, yes_no=None, evidence: list[str] | None = None,
           unanswerable: bool = False) -> dict:
    return {"unanswerable": unanswerable, "extractive_spans": spans or [], "yes_no": yes_no,
            "free_form_answer": free_form, "evidence": evidence or [], "highlighted_evidence": []}


TOPICS = ["attention", "parsing", "translation", "speech", "sentiment", "entities", "summaries", "graphs",
          "retrieval", "dialogue", "morphology", "grammar"]


def synthetic_qasper(n_papers: int, start: int = 0) -> dict:
    """A small QASPER-layout corpus: each paper has 3 paragraphs and 2 questions with evidence."""
    papers = {}
    for i in range(start, start + n_papers):
        t = [TOPICS[(i + j) % len(TOPICS)] for j in range(3)]
        paragraphs = [f"Paper {i} studies {t[0]} with a new model of {t[0]} structure.",
                      f"Experiments in paper {i} measure {t[1]} accuracy on three benchmarks.",
                      f"Related work on {t[2]} is reviewed in paper {i}."]
        qas = [make_qa(f"p{i}-q0", f"What does paper {i} study?",
                       answer(free_form=f"{t[0]}", evidence=[paragraphs[0]])),
               make_qa(f"p{i}-q1", f"What accuracy is measured in paper {i}?",
                       answer(spans=[f"{t[1]} accuracy"], evidence=[paragraphs[1]]))]
        papers[f"paper-{i:03d}"] = make_paper(paragraphs, qas)
    return papers


def build_tiny_student(out: Path) -> Path:
    """A 2-layer, 32-wide BERT with random weights and MiniLM's tokenizer, saved as a sentence-transformers
    folder under `out` (returned): a real student that trains and encodes in milliseconds."""
    import torch
    from sentence_transformers import SentenceTransformer, models
    from transformers import AutoTokenizer, BertConfig, BertModel

    from uae_core.weights import DEFAULT_STUDENT, packaged_location

    torch.manual_seed(0)
    tokenizer = AutoTokenizer.from_pretrained(packaged_location(DEFAULT_STUDENT)[0])
    config = BertConfig(vocab_size=tokenizer.vocab_size, hidden_size=32, num_hidden_layers=2,
                        num_attention_heads=2, intermediate_size=64, max_position_embeddings=256)
    BertModel(config).save_pretrained(out / "hf")
    tokenizer.save_pretrained(out / "hf")
    transformer = models.Transformer(str(out / "hf"), max_seq_length=64)
    SentenceTransformer(modules=[transformer, models.Pooling(32, pooling_mode="mean")]).save(str(out / "st"))
    return out / "st"


def build_tiny_teacher(out: Path) -> Path:
    """A 2-layer Llama with random weights (and MiniLM's tokenizer) saved in `out`: a real causal LM teacher."""
    import torch
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    from uae_core.weights import DEFAULT_STUDENT, packaged_location

    torch.manual_seed(0)
    tokenizer = AutoTokenizer.from_pretrained(packaged_location(DEFAULT_STUDENT)[0])
    config = LlamaConfig(vocab_size=tokenizer.vocab_size, hidden_size=32, intermediate_size=64,
                         num_hidden_layers=2, num_attention_heads=2, num_key_value_heads=2,
                         max_position_embeddings=512, pad_token_id=tokenizer.pad_token_id)
    LlamaForCausalLM(config).save_pretrained(out)
    tokenizer.save_pretrained(out)
    return out


def load_bench(name: str):
    """bench/<name>.py as a module, to call its main() in-process (no interpreter start per stage)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(f"bench_{name}", REPO / "bench" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def alpha_instance(tmp_path: Path, monkeypatch, papers: int = 20):
    """A domain `alpha` of `papers` synthetic papers (UAE_DOMAINS, UAE_DATA_DIR under tmp_path) and a Dagster
    instance on the shipped dagster.yaml: what the in-process pipeline tests run in."""
    import json

    from dagster import DagsterInstance

    (tmp_path / "alpha.json").write_text(json.dumps(synthetic_qasper(papers)))
    (tmp_path / "domains.yaml").write_text("domains:\n  alpha:\n    path: alpha.json\n")
    monkeypatch.setenv("UAE_DOMAINS", str(tmp_path / "domains.yaml"))
    monkeypatch.setenv("UAE_DATA_DIR", str(tmp_path / "data"))
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text((REPO / "dagster_home" / "dagster.yaml").read_text())  # the shipped config
    return DagsterInstance.local_temp(str(home))


def run_alpha(instance, config: dict):
    """The whole pipeline in process for partition `alpha`: (the result, each asset's metadata values)."""
    from uae_assets.definitions import defs

    result = defs.resolve_job_def("uae_pipeline").execute_in_process(run_config=config, instance=instance,
                                                                    partition_key="alpha")
    assert result.success
    meta = {e.asset_key.path[0]: {k: v.value for k, v in e.step_materialization_data.materialization.metadata.items()}
            for e in result.get_asset_materialization_events()}
    return result, meta
