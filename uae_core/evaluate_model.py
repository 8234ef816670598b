"""Evaluate any encoder (a registered MLflow version, a local directory, a Hugging Face id, or the base
model) on any QASPER-layout file and scope, without retraining, next to BM25 and the base encoder.

This is how users check a model on their own held-out data; `uae evaluate` and the Dagster job
`evaluate_model` both call `evaluate_encoder` and write the same report format as eval_report.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Sequence

from uae_core.encoder import cached_encode, load_student
from uae_core.answering import Reader
from uae_core.evaluation import AnswerEval, bm25_system, dense_system, evaluate, write_report
from uae_core.index import build_index
from uae_core.models import DEFAULT_STUDENT, student_fingerprint
from uae_core.qasper import LoadOptions, fixed_subset, load_qasper
from uae_core.rerank import rerank_system, upr_teacher
from uae_core.retrieval import Scope
from uae_core.teacher import Teacher, TeacherConfig


def resolve_encoder(spec: str, download_dir: str | Path) -> str:
    """`models:/...` -> a directory downloaded under `download_dir`; anything else is returned as is."""
    if spec.startswith("models:/"):
        from uae_core.tracking import download_version

        return str(download_version(spec, download_dir))
    return spec


def evaluate_encoder(model: str, data: str | Path, scope: Scope, out_dir: str | Path, split: str = "test",
                     base_model: str = DEFAULT_STUDENT, cache_dir: str | Path = "data/cache",
                     max_seq_length: int = 256, options: LoadOptions = LoadOptions(), max_queries: int = 0,
                     llm_rerank_depth: int = 0, answer_top_k: Sequence[int] = (),
                     teacher: TeacherConfig = TeacherConfig(), model_cache: str | Path = "data/models") -> dict:
    """Report for BM25, the base encoder and `model` ("base" = the base encoder alone) on `split`
    ("all" = every question) of `data`; optionally on a fixed subset of `max_queries` questions, with LLM
    re-ranking of the base top-`llm_rerank_depth` and Token F1 of the teacher's answers from each top k."""
    model = base_model if model == "base" else model
    corpus = load_qasper(data, options)
    queries = corpus.queries if split == "all" else [q for q in corpus.queries if q.split == split]
    queries = fixed_subset([q for q in queries if q.gold_passage_ids], max_queries)
    texts = [p.text for p in corpus.passages]
    cache = Path(cache_dir) / "embeddings"
    Path(cache_dir).mkdir(parents=True, exist_ok=True)
    systems = {"bm25": bm25_system(corpus.passages)}
    base = load_student(base_model, max_seq_length)
    base_emb = cached_encode(base, texts, cache, model_key=f"base-{student_fingerprint(base_model)}")
    systems["base"] = dense_system(base, build_index(base_emb))
    if model != base_model:
        with tempfile.TemporaryDirectory() as download:
            source = resolve_encoder(model, download)
            encoder = load_student(source, max_seq_length)
            key = f"eval-{student_fingerprint(source)}"  # by content: a moved alias is a new key
        systems["model"] = dense_system(encoder, build_index(cached_encode(encoder, texts, cache, model_key=key)))
    llm = Teacher(teacher, cache_dir=model_cache) if llm_rerank_depth > 0 or answer_top_k else None
    if llm_rerank_depth > 0:
        systems["llm_rerank"] = rerank_system(systems["base"], upr_teacher(llm), corpus.passages, llm_rerank_depth)
    answers = AnswerEval(Reader(llm), answer_top_k) if answer_top_k else None
    report = evaluate(systems, corpus.passages, queries, scope, baseline="base", answers=answers)
    report.update({"model": model, "data": str(data), "split": split, "base_model": base_model,
                   "load_report": corpus.report.as_dict()})
    write_report(report, out_dir, f"Evaluation of {model} on {Path(data).name} ({split}, scope {scope})")
    return report
