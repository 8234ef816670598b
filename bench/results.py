"""Every system side by side on each domain's held-out test split: docs/results.md from nothing.

    .venv/bin/python -m bench.results --size quick        # this 2-core CPU: many hours (16k labels, 23 trainings)
    .venv/bin/python -m bench.results --size smoke        # minutes: the plumbing (tests/bench runs it on tiny models)
    bench/device/pack.sh, then bench/device/results.sh    # a lent GPU: prepare + sweep in ~9 min on an H100;
                                                          # with --no-sweep, prepare + 12 finals in ~8 min

It calls the pipeline's own steps (uae_core.pipeline) and nothing else: the domains of domains.yaml,
load_corpus, build_sticky (candidate_sets' builder), label_pairs into the pipeline's DuckDB label store
(utility_labels' plan, label and merge; labels are shared with `uae materialize`), distill or, without
tracking, train_and_merge (uae_encoder's training; each an MLflow run nested under the benchmark's run,
experiment `uae-bench-<size>`), build_retriever (faiss_index's embeddings, BM25 and fusion) and compare
(eval_report's evaluation, with LLM re-ranking and Token F1) for the evaluation, gain_interval for the
statistics. Stages (--stage), each resuming from files in --workdir (default data/results/<size>):

  prepare  per domain: candidate sets of every train question, teacher labels      -> prepared/<domain>.json
  train    a dev-split sweep on the first domain (one knob at a time, seed 0), then each domain's final systems
           seed by seed; each training keeps the merge share best on dev (train_and_merge, as uae_encoder);
           every model scored on its domain's dev and test splits, with its BM25 hybrid (build_retriever, as
           faiss_index), and the first domain's finals zero-shot on the others
                                                                            -> train/<domain>/<run>.json
  report   statistics over seeds; BM25; LLM re-ranking and Token F1 on a fixed subset; latency -> results.json
  doc      the page, a pure function of results.json (bench.results_page)           -> docs/results.md
Held-out discipline: every choice is made on dev; test splits are only reported.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import platform
import time
from dataclasses import asdict, dataclass, field, fields, replace
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from uae_assets.domains import data_dir, get_domain, load_domains
from uae_core.data import Corpus, Query, fixed_subset, load_corpus
from uae_core.evaluation.metrics import METRICS
from uae_core.labeling.candidates import CandidateConfig
from uae_core.weights import DEFAULT_STUDENT, DEFAULT_TEACHER

REPO = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Size:
    questions: int  # train questions labeled per domain (0 = all)
    k: int  # candidates per question (the K=4 variants take the first 4 of the merged 8)
    seeds: tuple[int, ...]
    sweep: bool
    answer_queries: int  # test questions per domain for LLM re-ranking and Token F1
    latency_queries: int
    eval_documents: int = 0  # evaluate on the first n documents of each domain only (0 = all)


SIZES = {"smoke": Size(questions=16, k=4, seeds=(0,), sweep=False, answer_queries=3, latency_queries=3,
                       eval_documents=40),
         "quick": Size(questions=0, k=8, seeds=(0, 1, 2), sweep=True, answer_queries=40, latency_queries=20)}

# The sweep's centre: the design's defaults as changed by an earlier dev sweep. The finals train with the
# sweep's best run on dev (choose), not with these.
FINAL = {"epochs": 1, "learning_rate": 1e-5, "batch_queries": 32, "tau_s": 0.1, "tau_t": 0.3, "lam": 0.75}


@dataclass(frozen=True)
class Run:
    """One training: `system` is uae (teacher labels) or hard_label (gold evidence); `overrides` change
    TrainConfig; `k` and `questions` (fraction of the labeled questions) shape the labels it sees."""

    name: str
    system: str
    seed: int = 0
    overrides: dict = field(default_factory=dict)
    k: int | None = None
    questions: float = 1.0
    phase: str = "final"

    def file(self) -> str:
        return self.name.replace("/", "_").replace("=", "-") + ".json"


def sweep_runs(size: Size) -> list[Run]:
    """One knob at a time around FINAL, on the first domain's dev split, seed 0."""
    runs = [Run("sweep/default", "uae", phase="sweep")]
    if not size.sweep:
        return runs
    knobs = {"learning_rate": (3e-5, 1e-4), "epochs": (2, 4), "tau_t": (0.1, 1.0), "objective": ("kl", "umi")}
    runs += [Run(f"sweep/{key}={v}", "uae", overrides={key: v}, phase="sweep") for key, vs in knobs.items() for v in vs]
    # The label budget: the same pairs as K = k/2 over every question, spent as K = k over half of them.
    runs += [Run(f"sweep/k={size.k // 2}", "uae", k=size.k // 2, phase="sweep"),
             Run(f"sweep/k={size.k},half_questions", "uae", questions=0.5, phase="sweep")]
    return runs


def final_runs(size: Size, chosen: Run) -> list[Run]:
    """UAE and the hard-label baseline, seed by seed, with the settings of `chosen` (the sweep's best run on
    dev). Both get the same training settings and label budget, so they differ only in labels."""
    return [Run(f"{system}/seed={s}", system, seed=s, overrides=dict(chosen.overrides), k=chosen.k,
                questions=chosen.questions) for s in size.seeds for system in ("uae", "hard_label")]


def choose(records: dict[str, dict], domain: str, metric: str = "map") -> Run:
    """The sweep run with the best dev `metric` (the metric promotion uses): the finals' settings."""
    best = max(records.values(), key=lambda r: r["scores"][domain]["dev"]["mean"][metric])
    return Run(**best["run"])


# ------------------------------------------------------------------------------------------------ prepare
def load_domain(name: str, size: Size) -> tuple[object, Corpus]:
    domain = get_domain(name)
    corpus = load_corpus(domain.source_file(), domain.format)
    if size.eval_documents:
        keep = set(list(dict.fromkeys(p.doc_id for p in corpus.passages))[: size.eval_documents])
        corpus = replace(corpus, passages=[p for p in corpus.passages if p.doc_id in keep],
                         queries=[q for q in corpus.queries if q.doc_id in keep])
    return domain, corpus


def prepare(args, size: Size, name: str) -> dict:
    """Candidate sets (candidate_sets' build_sticky, with --sources and the size's K and questions; its state
    file in the workdir) and teacher labels (utility_labels' steps, label_pairs, into the pipeline's label
    store; with --reuse-labels only pairs the earlier file lacks) for the domain's train questions."""
    from uae_core.labeling.candidates import CandidateSet, teacher_top_is_gold
    from uae_core.labeling.shards import chunks_beside
    from uae_core.labeling.teacher import TeacherConfig, load_teacher
    from uae_core.pipeline import build_sticky, label_pairs
    from uae_core.retrieval.encoder import load_student

    domain, corpus = load_domain(name, size)
    config = CandidateConfig(k=size.k, sources=list(args.sources), max_train_queries=size.questions)
    candidates = build_sticky(corpus.passages, corpus.queries, config, domain.scope,
                              load_student(args.student, device=args.device),
                              args.workdir / "candidates" / f"{name}.json", args.cache)
    sets = candidates.sets
    teacher = load_teacher(TeacherConfig(model=args.teacher, batch_size=args.teacher_batch),
                           cache_dir=data_dir() / "models", device=args.device)
    reused = reusable_utilities(args.reuse_labels, name, teacher.teacher_id)
    to_label = [CandidateSet(s.query_id, tuple(p for p in s.passage_ids if p not in reused.get(s.query_id, {})))
                for s in sets]
    queries = {q.query_id: q for q in corpus.queries}
    labels, stats = label_pairs(teacher, args.labels, chunks_beside(args.labels),
                                [s for s in to_label if s.passage_ids], queries,
                                {p.passage_id: p for p in corpus.passages}, show_progress=not args.quiet)
    known = {q: {**reused.get(q, {}), **labels.utilities.get(q, {})} for q in {s.query_id for s in sets}}
    utilities = {s.query_id: {p: known[s.query_id][p] for p in s.passage_ids if p in known[s.query_id]}
                 for s in sets}
    top1 = list(teacher_top_is_gold(utilities, queries).values())
    return {"domain": name, "teacher_id": teacher.teacher_id, "labeling": stats.as_dict(), "sources": args.sources,
            "pairs_reused_from_file": sum(len(s.passage_ids) - len(t.passage_ids) for s, t in zip(sets, to_label)),
            "sets": {s.query_id: list(s.passage_ids) for s in sets}, "utilities": utilities,
            "gold_recall": candidates.gold_recall, "top1_is_gold": float(np.mean(top1)) if top1 else None}


def reusable_utilities(prepared_dir: Path | None, domain: str, teacher_id: str) -> dict[str, dict[str, float]]:
    """Utilities an earlier prepare stage stored (its prepared/<domain>.json) with the same teacher: a label
    depends only on its question, answer and passage, so a run with other candidate sources relabels only
    the pairs it adds. Empty without --reuse-labels; refused when the teacher differs."""
    if prepared_dir is None:
        return {}
    path = Path(prepared_dir) / f"{domain}.json"
    earlier = json.loads(path.read_text())
    if earlier["teacher_id"] != teacher_id:
        raise ValueError(f"{path}: field teacher_id is {earlier['teacher_id']!r}, not this run's {teacher_id!r}; "
                         "its labels cannot be reused")
    return earlier["utilities"]


# -------------------------------------------------------------------------------------------------- train
class DomainEval:
    """A domain's evaluation: a model's rankings on dev and test (run_system), and its retriever as faiss_index
    builds it (build_retriever: the BM25 hybrid, its fusion chosen on tuning_questions), as per-query metrics."""

    def __init__(self, name: str, size: Size, cache: Path):
        from uae_core.retrieval.bm25 import BM25Index
        from uae_core.retrieval.systems import bm25_system

        self.domain, self.corpus = load_domain(name, size)
        self.cache = cache
        self.splits = {s: [q for q in self.corpus.queries if q.split == s and q.gold_passage_ids]
                       for s in ("dev", "test")}
        self.bm25_index = BM25Index([p.text for p in self.corpus.passages])  # built once, shared by every model
        self.bm25 = bm25_system(self.corpus.passages, self.bm25_index)

    def score(self, system) -> dict:
        """A ranker's per-query metrics on dev and test."""
        from uae_core.evaluation.report import run_system

        return {s: _per_query(run_system(system, self.corpus.passages, qs, self.domain.scope, latency_queries=0), qs)
                for s, qs in self.splits.items()}

    def dev(self, model) -> dict[str, float]:
        """A student's dev metrics: what the merge share is chosen on, as in `uae_encoder`."""
        from uae_core.evaluation.compare import dev_metrics

        return dev_metrics(model, self.corpus.passages, self.corpus.queries, self.domain.scope, self.cache)

    def __call__(self, model, trained: list[str] | None = None) -> dict:
        """A student's scores, and those of its hybrid with BM25 from the retriever faiss_index would build
        (build_retriever: the fusion chosen on the dev split plus, given the `trained` question ids, the train
        questions of documents none of them came from), applied to test."""
        from uae_core.pipeline import build_retriever

        built = build_retriever(model, self.corpus.passages, self.corpus.queries, self.domain.scope, trained,
                                self.cache, bm25=self.bm25_index)
        hybrid = self.score(built.hybrid)
        return {**self.score(built.dense), "test_hybrid": hybrid["test"], "fusion": built.fusion.as_dict(),
                "fusion_questions": len(built.tuning)}


def _per_query(result, queries: list[Query]) -> dict:
    return {"query_ids": [q.query_id for q in queries],
            "per_query": {m: np.round(v, 5).tolist() for m, v in result.per_query.items()},
            "mean": result.metrics, "top20": [[int(r) for r in row[:20]] for row in result.rankings]}


def train_stage(args, size: Size, domains: list[str]) -> None:
    """BM25 and the base, the sweep on the first domain, then every domain's finals with the sweep's choice.
    With --tracking none (a GPU box without MLflow) the same trainings run without the MLflow runs."""
    from uae_core.retrieval.encoder import load_student

    evals = {d: DomainEval(d, size, args.cache) for d in domains}
    experiment = f"uae-bench-{args.size}"
    with _bench_run(args, size, experiment) as parent_run_id:
        base_model = load_student(args.student, device=args.device)
        prepared = {d: json.loads((args.workdir / "prepared" / f"{d}.json").read_text()) for d in domains}
        for domain in domains:  # BM25 and the untrained base encoder (and its hybrid, tuned on the questions the
            # finals' hybrids are tuned on, as eval_report tunes both), scored the same way
            _cached(args.workdir / "train" / domain / "bm25.json", lambda d=domain: evals[d].score(evals[d].bm25))
            _cached(args.workdir / "train" / domain / "base.json",
                    lambda d=domain: evals[d](base_model, trained=list(prepared[d]["sets"])))

        def train(domain: str, run: Run) -> dict:
            others = domains[1:] if domain == domains[0] and run.phase == "final" else []
            record = _cached(args.workdir / "train" / domain / run.file(), lambda: train_one(
                args, size, run, prepared[domain], evals[domain], [evals[d] for d in others], experiment,
                parent_run_id))
            dev = record["scores"][domain]["dev"]["mean"]
            print(f"[train] {domain} {run.name}: dev success@1 {dev['success@1']:.3f} map {dev['map']:.3f}", flush=True)
            return record

        if size.sweep:
            sweep = {run.name: train(domains[0], run) for run in sweep_runs(size)}
            chosen = choose(sweep, domains[0])
        else:  # no sweep: the finals train with its centre (seed 0's UAE final is that run)
            chosen = sweep_runs(size)[0]
        _write_json(args.workdir / "train" / "chosen.json", asdict(chosen))
        print(f"[train] chosen on {domains[0]}'s dev split: {chosen.name}", flush=True)
        for run in final_runs(size, chosen):  # seed by seed across domains: a cut-off run still covers each
            for domain in domains:
                train(domain, run)


@contextlib.contextmanager
def _bench_run(args, size: Size, experiment: str):
    """The benchmark's parent MLflow run in the pipeline's tracking store (its id), or None without tracking."""
    if args.tracking == "none":
        yield None
        return
    import mlflow

    from uae_assets.resources import MLflowResource
    from uae_core.tracking.runs import experiment_id

    MLflowResource().client()  # the pipeline's tracking store: set before the benchmark's run starts
    with mlflow.start_run(experiment_id=experiment_id(experiment, MLflowResource().artifacts()),
                          run_name=f"bench-{args.size}-{args.started}", tags={"bench_size": args.size}) as parent:
        mlflow.log_params({"size": args.size, **{k: str(v) for k, v in asdict(size).items()}})
        yield parent.info.run_id


def domain_training_settings(name: str) -> dict:
    """The training settings the domain pins (`run_config:` in domains.yaml, ops.uae_encoder), which its
    pipeline runs use: they replace FINAL's for that domain's trainings, so the page measures what users run.
    Its candidate_sets settings do not apply: the size fixes K and the label budget. Read without Dagster (the
    GPU box has none); TrainConfig checks the values."""
    from uae_core.training.trainer import TrainConfig

    known = {f.name for f in fields(TrainConfig)}
    return {k: v for k, v in get_domain(name).pinned("uae_encoder").items() if k in known}


def train_one(args, size: Size, run: Run, prepared: dict, evaluation: DomainEval, zero_shot: list[DomainEval],
              experiment: str, parent_run_id: str | None) -> dict:
    """One training through the pipeline's distill (an MLflow run nested under the benchmark's; without
    tracking, distill's own train_and_merge), scored on its domain and, zero-shot, on `zero_shot` domains."""
    from uae_core.labeling.candidates import CandidateSet
    from uae_core.pipeline import train_and_merge
    from uae_core.retrieval.encoder import load_student
    from uae_core.training.examples import build_examples, hard_label_examples
    from uae_core.training.trainer import TrainConfig

    domain = prepared["domain"]
    queries = {q.query_id: q for q in evaluation.corpus.queries}
    passages = {p.passage_id: p for p in evaluation.corpus.passages}
    qids = list(prepared["sets"])[: max(1, int(len(prepared["sets"]) * run.questions))]
    sets = [CandidateSet(q, tuple(prepared["sets"][q][: run.k or size.k])) for q in qids]
    settings = {**FINAL, **domain_training_settings(domain)}
    if run.system == "hard_label":
        settings["objective"] = "gold"
    run_overrides = {k: v for k, v in run.overrides.items() if not (run.system == "hard_label" and k == "objective")}
    chunk = {"embed_chunk_size": args.embed_chunk} if args.embed_chunk else {}  # else TrainConfig's (this CPU's)
    config = TrainConfig(**{**settings, **run_overrides, "seed": run.seed, **chunk})
    if run.system == "hard_label":
        examples = hard_label_examples(sets, queries, passages)
    else:  # as uae_encoder builds them
        examples = build_examples(sets, prepared["utilities"], queries, passages)
    model = load_student(args.student, device=args.device)
    if args.tracking == "none":
        train, merge = train_and_merge(model, examples, config, evaluation.dev, show_progress=not args.quiet)
        run_id = None
    else:
        from uae_assets.resources import MLflowResource
        from uae_core.tracking.distill import Tracking, distill

        tracking = Tracking(MLflowResource().client(), domain, register=False, experiment=experiment,
                            parent_run_id=parent_run_id,
                            tags={"bench_run": run.name, "teacher_id": prepared["teacher_id"]})
        result = distill(examples, config, model, tracking, evaluate_dev=evaluation.dev,
                         show_progress=not args.quiet)
        model, run_id, train, merge = result.model, result.run_id, result.train, result.merge
    scores = {domain: evaluation(model, trained=qids), **{e.domain.name: e(model) for e in zero_shot}}
    return {"run": asdict(run), "config": asdict(config), "examples": len(examples), "device": args.device,
            "train_seconds": round(train.seconds, 1), "mlflow_run_id": run_id, "scores": scores,
            "merge": {"share": merge.share, "dev_scores": {str(k): v for k, v in merge.scores.items()}}}


def _cached(path: Path, compute):
    if path.is_file():
        return json.loads(path.read_text())
    value = compute()
    _write_json(path, value)
    return value


# ------------------------------------------------------------------------------------------------- report
def report_stage(args, size: Size, domains: list[str]) -> dict:
    from uae_core.evaluation.stats import gain_interval

    results = {"size": args.size, "started": args.started, "machine": args.machine, "domains": {},
               "chosen": json.loads((args.workdir / "train" / "chosen.json").read_text()), "centre": FINAL}
    for domain in domains:
        prepared = json.loads((args.workdir / "prepared" / f"{domain}.json").read_text())
        records = {p.stem: json.loads(p.read_text()) for p in sorted((args.workdir / "train" / domain).glob("*.json"))}
        devices = sorted({r.get("device", "cpu") for r in records.values() if "run" in r})
        base, bm25 = records.pop("base"), records.pop("bm25")
        sweep = {r["run"]["name"]: {"dev": r["scores"][domain]["dev"]["mean"], "examples": r["examples"],
                                    "train_seconds": r["train_seconds"]}
                 for r in records.values() if r["run"]["phase"] == "sweep"}
        finals: dict[str, list[dict]] = {}
        for r in records.values():
            if r["run"]["phase"] == "final":
                finals.setdefault(r["run"]["system"], []).append(r)
        systems = {"bm25": bm25["test"], "base": base["test"], "hybrid_base": base["test_hybrid"]}
        for system, rs in finals.items():
            systems[system] = _seed_mean([r["scores"][domain]["test"] for r in rs])
            systems[f"hybrid_{system}"] = _seed_mean([r["scores"][domain]["test_hybrid"] for r in rs])
        zero_shot = {}
        for other in domains:
            if other != domain:
                other_records = [json.loads(p.read_text()) for p in (args.workdir / "train" / other).glob("*.json")]
                rs = [r for r in other_records if r.get("run", {}).get("system") == "uae"
                      and r["run"]["phase"] == "final" and domain in r["scores"]]
                if rs:
                    zero_shot[other] = _seed_mean([r["scores"][domain]["test"] for r in rs])
        for other, scores in zero_shot.items():
            systems[f"uae_from_{other}"] = scores
        table = {}
        for system, scores in systems.items():
            row = {"mean": scores["mean"], "seeds": scores.get("seeds")}
            if system != "base":
                row["gain"] = {}
                for m in METRICS:
                    ci = gain_interval(np.array(scores["per_query"][m]), np.array(base["test"]["per_query"][m]))
                    row["gain"][m] = None if ci is None else [ci.gain, ci.low, ci.high]
            table[system] = row
        results["domains"][domain] = {
            "n_test": len(base["test"]["query_ids"]), "n_dev": len(base["dev"]["query_ids"]),
            "labels": {**{k: prepared[k] for k in ("teacher_id", "labeling", "gold_recall", "top1_is_gold")},
                       # files of runs before --sources: their sets came from BM25 and the base encoder
                       "sources": prepared.get("sources", ["bm25", "dense"]),
                       "pairs_reused_from_file": prepared.get("pairs_reused_from_file", 0),
                       "questions": len(prepared["sets"])},
            "sweep": sweep, "base_dev": base["dev"]["mean"], "systems": table, "train_devices": devices,
            "fusions": {"base": [base["fusion"]],
                        **{s: [r["scores"][domain]["fusion"] for r in rs] for s, rs in finals.items()}},
            "fusion_questions": {"base": base.get("fusion_questions"),
                                 **{s: rs[0]["scores"][domain].get("fusion_questions") for s, rs in finals.items()}},
            "merge_shares": {s: [r["merge"]["share"] for r in rs] for s, rs in finals.items() if "merge" in rs[0]},
            "domain_settings": domain_training_settings(domain)}
    if size.answer_queries:  # --answer-queries 0 skips LLM re-ranking and Token F1 (hours on a CPU at full size)
        results["answers"] = {d: cached_answers(args, size, d) for d in domains}
    _write_json(args.workdir / "results.json", results)
    return results


def _seed_mean(scores: list[dict]) -> dict:
    """Per-query metrics averaged over seeds (paired with the base per question), and each seed's means."""
    per_query = {m: np.mean([s["per_query"][m] for s in scores], axis=0).tolist() for m in METRICS}
    return {"per_query": per_query, "mean": {m: float(np.mean(v)) for m, v in per_query.items()},
            "seeds": [s["mean"] for s in scores], "query_ids": scores[0]["query_ids"]}


def cached_answers(args, size: Size, domain: str) -> dict:
    """One domain's answers_stage, kept in answers/<domain>.json until its seed-0 UAE record changes (the
    answers read that model's rankings): retraining one domain recomputes that domain's answers only."""
    seed0 = args.workdir / "train" / domain / "uae_seed-0.json"
    key = hashlib.sha256(seed0.read_bytes()).hexdigest()[:16] if seed0.is_file() else None
    path = args.workdir / "answers" / f"{domain}.json"
    cached = json.loads(path.read_text()) if path.is_file() else {}
    if not cached or cached.get("uae_record") != key:
        cached = {**answers_stage(args, size, [domain])[domain], "uae_record": key}
        _write_json(path, cached)
    return cached


def answers_stage(args, size: Size, domains: list[str]) -> dict:
    """On a fixed subset of each test split, eval_report's evaluation (compare): BM25, the base encoder, LLM
    re-ranking (UPR) of the base top-20 and Token F1 of the teacher's answers from the top 1 and 3 of each, with
    per-query latency; plus the seed-0 UAE encoder's rankings (its top 20, recorded at training time)."""
    from uae_core.evaluation.compare import EvalConfig, compare, recorded_system
    from uae_core.labeling.teacher import TeacherConfig, load_teacher
    from uae_core.retrieval.encoder import load_student

    teacher = load_teacher(TeacherConfig(model=args.teacher, backend=args.reader_backend),
                           cache_dir=data_dir() / "models", device=args.device)
    base = load_student(args.student, device=args.device)
    config = EvalConfig(llm_rerank_depth=20, answer_top_k=[1, 3])
    out = {}
    for domain in domains:
        d, corpus = load_domain(domain, size)
        queries = fixed_subset([q for q in corpus.queries if q.split == "test" and q.gold_passage_ids],
                               size.answer_queries)
        recorded = {}
        seed0 = args.workdir / "train" / domain / "uae_seed-0.json"
        if seed0.is_file():
            record = json.loads(seed0.read_text())["scores"][domain]["test"]
            recorded["uae"] = recorded_system(dict(zip(record["query_ids"], record["top20"])))
        report = compare(corpus.passages, queries, d.scope, base, {}, args.cache, config, teacher, rankers=recorded)
        out[domain] = {"n_queries": report["n_queries"],
                       "systems": {name: _answer_row(row, timed=name not in recorded)
                                   for name, row in report["systems"].items()}}
    return out


def _answer_row(row: dict, timed: bool) -> dict:
    """A system's row of compare's report as results.json keeps it: its means and (a live system) latency."""
    latency = ("latency_ms_p50", "latency_ms_p95")
    return {"mean": {m: v for m, v in row.items() if m not in latency},
            **({k: row[k] for k in latency} if timed else {})}


# ---------------------------------------------------------------------------------------------------- main
def _write_json(path: Path, obj) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".partial")
    tmp.write_text(json.dumps(obj))
    tmp.replace(path)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", choices=sorted(SIZES), default="quick")
    ap.add_argument("--stage", choices=["all", "prepare", "train", "report", "doc"], default="all")
    ap.add_argument("--domains", help="comma-separated (default: every domain of domains.yaml, default first)")
    ap.add_argument("--workdir", type=Path, help="default <data dir>/results/<size>")
    ap.add_argument("--student", default=DEFAULT_STUDENT)
    ap.add_argument("--teacher", default=DEFAULT_TEACHER)
    ap.add_argument("--reader-backend", default="transformers", choices=["transformers", "vllm"],
                    help="teacher backend for LLM re-ranking and answers (vllm generates ~2.6x faster on a CPU)")
    ap.add_argument("--labels", type=Path, help="DuckDB label store (default: the pipeline's)")
    ap.add_argument("--sources", default=",".join(CandidateConfig().sources),
                    help="candidate sources, comma-separated (default: the pipeline's, CandidateConfig.sources)")
    ap.add_argument("--reuse-labels", type=Path, help="a prepared/ folder of an earlier run with the same teacher: "
                    "its labels are reused, only new pairs go to the teacher")
    ap.add_argument("--embed-chunk", type=int, default=0, help="texts per training forward (0: TrainConfig's)")
    ap.add_argument("--answer-queries", type=int, help="test questions per domain for LLM re-ranking and Token F1 "
                    "(default: the size's; 0 skips them)")
    ap.add_argument("--device", default="cpu", help="cpu or cuda: where the teacher labels and students train")
    ap.add_argument("--teacher-batch", type=int, default=8, help="teacher sequences per forward (32 on a GPU)")
    ap.add_argument("--tracking", choices=["mlflow", "none"], default="mlflow",
                    help="none: no MLflow runs (a GPU machine without MLflow; the records are the same)")
    ap.add_argument("--out", type=Path, default=REPO / "docs", help="where the page goes (doc stage)")
    ap.add_argument("--quiet", action="store_true")
    ap.add_argument("--no-sweep", action="store_true", help="skip the dev sweep: the finals train with its centre "
                    "(FINAL), e.g. to fit a 15-minute GPU loan")
    args = ap.parse_args(argv)
    args.sources = CandidateConfig(sources=args.sources.split(",")).sources  # checked as the pipeline checks it
    size = SIZES[args.size]
    if args.no_sweep:
        size = replace(size, sweep=False)
    if args.answer_queries is not None:
        size = replace(size, answer_queries=args.answer_queries)
    configured, default = load_domains()
    domains = args.domains.split(",") if args.domains else [default, *[d for d in configured if d != default]]
    args.workdir = args.workdir or data_dir() / "results" / args.size
    args.labels = args.labels or data_dir() / "labels.duckdb"
    args.cache = data_dir() / "cache" / "embeddings"
    args.started = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M")
    args.machine = f"{os.cpu_count()} cores, {platform.machine()}"
    if args.device.startswith("cuda"):
        import torch

        args.machine += f", {torch.cuda.get_device_name()}"
    for stage in ("prepare", "train", "report", "doc"):
        if args.stage not in ("all", stage):
            continue
        t = time.perf_counter()
        if stage == "prepare":
            for d in domains:
                _cached(args.workdir / "prepared" / f"{d}.json", lambda d=d: prepare(args, size, d))
        elif stage == "train":
            train_stage(args, size, domains)
        elif stage == "report":
            report_stage(args, size, domains)
        else:
            from bench.results_page import write_page  # tables and the figure, no compute

            write_page(json.loads((args.workdir / "results.json").read_text()), args.out)
        print(f"[{stage}] done in {time.perf_counter() - t:.0f} s", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
