"""Every system of the design's evaluation side by side, both domains: docs/results.md from nothing.

    .venv/bin/python bench/results.py --size quick                 # all stages on this machine
    .venv/bin/python bench/results.py --size full --device cuda    # users with a GPU

Stages, each reading the previous one's files in --workdir (so they resume, and can run on different
machines: docs/results.md says where each ran):
  prepare  candidate sets and teacher labels (the pipeline's DuckDB label store) -> prepared.json
  train    knob sweep scored on qasper's dev split, then the tuned configs x seeds; every model
           evaluated on the held-out test splits -> train/<run>.json
  report   BM25, LLM re-ranking (UPR), Token F1 of the teacher's answers, statistics -> results.json
  latency  per-query latency of BM25, UAE and LLM re-ranking, alone on the machine -> results.json
  doc      the page: docs/results.md and docs/results_gains.png (rendered after each of the two above)
Held-out discipline: training uses qasper's train split only; every choice is made on its dev split; the
test splits of qasper and covidqa (never trained on: zero-shot) are only reported.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from dataclasses import asdict, dataclass, replace
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from uae_core.metrics import METRICS, per_query_table  # noqa: E402
from uae_core.qasper import Corpus, Query, fixed_subset, load_qasper  # noqa: E402
from uae_core.retrieval import scope_rows  # noqa: E402

SHARED = REPO.parent / "shared" / "data"
DATA = {"qasper": SHARED / "qasper" / "qasper-train-pool.json", "covidqa": SHARED / "covidqa" / "covidqa-dev.json"}
# (domain, split, scope): where every model is scored. dev is for choices, the rest is reported.
EVAL_SETS = {"qasper-dev": ("qasper", "dev", "corpus"), "qasper-test": ("qasper", "test", "corpus"),
             "qasper-test-paper": ("qasper", "test", "paper"), "covidqa-test": ("covidqa", "test", "corpus")}
REPORTED = ("qasper-test", "covidqa-test")
TUNED = ("tau_t", "lam", "learning_rate", "epochs", "tau_s", "batch_queries")  # chosen on dev, knob by knob
DEPTH = 1000


@dataclass(frozen=True)
class Size:
    n_train: int  # train questions labeled (0 = all)
    k: int  # candidates per question
    epochs: int
    knob_questions: int  # questions of the candidate-source and teacher knobs (each needs its own labels)
    answer_queries: int  # test questions per domain for LLM re-ranking and Token F1 (0 = all)
    seeds: tuple[int, ...] = (0, 1, 2)
    sweep: bool = True
    eval_papers: int = 0  # evaluate on the first n papers of each domain only (0 = all): the smoke size


SIZES = {
    "smoke": Size(n_train=24, k=4, epochs=1, knob_questions=12, answer_queries=6, seeds=(0,), sweep=False,
                  eval_papers=40),
    "quick": Size(n_train=700, k=8, epochs=2, knob_questions=60, answer_queries=40),
    "full": Size(n_train=0, k=16, epochs=3, knob_questions=0, answer_queries=0),
}
TEACHERS = {  # teacher knob: name -> TeacherConfig overrides (labels the first knob_questions)
    "smollm2": {},
    "smollm2-extractive": {"answer_policy": "first_extractive"},
    "smollm2-passage128": {"max_passage_tokens": 128},
    "gemma3-270m": {"model": "packaged:gemma-3-270m", "add_bos": True},
}


def load_corpora(data: dict[str, str], papers: int = 0) -> dict[str, Corpus]:
    return {name: restrict(load_qasper(path), papers) for name, path in data.items()}


def restrict(corpus: Corpus, papers: int) -> Corpus:
    """The first `papers` papers of a corpus (all when 0)."""
    if not papers:
        return corpus
    keep = list(dict.fromkeys(p.paper_id for p in corpus.passages))[:papers]
    return replace(corpus, passages=[p for p in corpus.passages if p.paper_id in keep],
                   queries=[q for q in corpus.queries if q.paper_id in keep])


def eval_queries(corpora: dict[str, Corpus], eval_set: str) -> list[Query]:
    domain, split, _ = EVAL_SETS[eval_set]
    return [q for q in corpora[domain].queries if q.split == split and q.gold_passage_ids]


# ---------------------------------------------------------------------------------------------- prepare
def prepare(args, size: Size) -> None:
    from uae_core.candidates import build_candidate_sets, gold_recall, select_train_queries
    from uae_core.encoder import cached_encode, encode, load_student
    from uae_core.label_store import LabelStore
    from uae_core.models import student_fingerprint
    from uae_core.teacher import Teacher, TeacherConfig
    from uae_core.utility import label_candidates

    corpus = load_qasper(DATA["qasper"])
    passages, by_qid = corpus.passages, {q.query_id: q for q in corpus.queries}
    train = select_train_queries(corpus.queries, size.n_train)
    student = load_student(args.student)
    p_emb = cached_encode(student, [p.text for p in passages], REPO / "data" / "cache" / "embeddings",
                          model_key=f"base-{student_fingerprint(args.student)}", show_progress=True)
    q_emb = encode(student, [q.question for q in train])
    main = build_candidate_sets(passages, train, size.k, "corpus", p_emb, q_emb, ("gold", "bm25", "dense"))
    knob_n = size.knob_questions or len(train)
    retrieved_only = build_candidate_sets(passages, train[:knob_n], size.k, "corpus", p_emb, q_emb[:knob_n],
                                          ("bm25", "dense"))
    jobs = [("main", "smollm2", main), ("sources-retrieved", "smollm2", retrieved_only)]
    jobs += [(f"teacher-{name}", name, main[:knob_n]) for name in TEACHERS if name != "smollm2"]
    variants, by_pid = {}, {p.passage_id: p for p in passages}
    teachers = {}
    with LabelStore.open(args.labels) as store:
        for variant, teacher_name, sets in jobs:
            config = replace(TeacherConfig(), **TEACHERS[teacher_name])
            if teacher_name not in teachers:
                teachers[teacher_name] = Teacher(config, cache_dir=REPO / "data" / "models", device=args.device)
            teacher = teachers[teacher_name]
            store.register_teacher(teacher.teacher_id, json.dumps(asdict(config), sort_keys=True))
            print(f"[prepare] {variant}: {sum(len(s.passage_ids) for s in sets)} pairs, teacher {teacher.teacher_id}")
            stats = label_candidates(teacher, store, sets, by_qid, by_pid, config.answer_policy)
            stored = store.utilities(teacher.teacher_id, [s.query_id for s in sets])  # every labeled passage
            utilities = {s.query_id: {p: u for p, u in stored.get(s.query_id, {}).items() if p in s.passage_ids}
                         for s in sets}  # only the variant's own candidates
            variants[variant] = {
                "teacher": teacher_name, "teacher_id": teacher.teacher_id, "labeling": stats.as_dict(),
                "gold_recall": gold_recall(sets, train), "top1_is_gold": _top1_is_gold(utilities, by_qid),
                "sets": {s.query_id: list(s.passage_ids) for s in sets}, "utilities": utilities}
    out = {"size": asdict(size), "data": {k: str(v) for k, v in DATA.items()}, "student": args.student,
           "train_query_ids": [q.query_id for q in train], "variants": variants}
    _write_json(args.workdir / "prepared.json", out)


def _top1_is_gold(utilities: dict[str, dict[str, float]], queries: dict[str, Query]) -> float:
    """Where gold is among the candidates: how often the teacher's most useful candidate is gold."""
    hits = [max(u, key=u.get) in queries[qid].gold_passage_ids for qid, u in utilities.items()
            if u and set(u) & set(queries[qid].gold_passage_ids)]
    return sum(hits) / len(hits) if hits else float("nan")


# ------------------------------------------------------------------------------------------------ train
@dataclass(frozen=True)
class Run:
    name: str
    phase: str  # "sweep" (scored on dev, seed 0) or "final" (the tuned config, every seed)
    variant: str  # which labeled candidate sets
    config: dict  # TrainConfig overrides
    n_questions: int = 0  # use the first n questions of the variant (0 = all)


def sweep_runs(size: Size) -> list[Run]:
    """One knob at a time around the design's defaults (objective uae, tau_t 0.3, lambda 0.5, lr 2e-5)."""
    runs = [Run("default", "sweep", "main", {})]
    if not size.sweep:
        return runs
    for objective in ("kl", "umi", "gold"):
        runs.append(Run(f"objective={objective}", "sweep", "main", {"objective": objective}))
    for key, values in {"tau_t": (0.1, 1.0), "lam": (0.25, 0.75), "learning_rate": (1e-5, 5e-5),
                        "epochs": (max(1, size.epochs // 2), size.epochs * 2), "tau_s": (0.02, 0.1),
                        "batch_queries": (32,)}.items():
        runs += [Run(f"{key}={v}", "sweep", "main", {key: v}) for v in values]
    runs.append(Run(f"k={size.k // 2}", "sweep", "main-k-half", {}))
    n = size.knob_questions
    runs.append(Run(f"sources=gold+bm25+dense,n={n}", "sweep", "main", {}, n))
    runs.append(Run(f"sources=bm25+dense,n={n}", "sweep", "sources-retrieved", {}, n))
    runs += [Run(f"teacher={name},n={n}", "sweep", f"teacher-{name}" if name != "smollm2" else "main", {}, n)
             for name in TEACHERS]
    return runs


def tuned(sweep: dict[str, dict], size: Size) -> dict:
    """Per knob, the value with the best dev score (mean of Recall@1 and MAP); the default if none beats it."""
    def score(name):
        m = sweep[name]["metrics"]["qasper-dev"]["mean"]
        return (m["recall@1"] + m["map"]) / 2
    from uae_core.training import TrainConfig

    base = asdict(TrainConfig(epochs=size.epochs))
    choice = {}
    for key in TUNED:
        candidates = {base[key]: score("default")}
        candidates.update({type(base[key])(float(n.split("=")[1])): score(n) for n in sweep if n.startswith(key + "=")})
        choice[key] = max(candidates, key=candidates.get)
    return choice


def final_runs(size: Size, choice: dict) -> list[Run]:
    """The tuned config of each objective, seed by seed (a run cut short still has every objective)."""
    runs = []
    for s in size.seeds:
        for objective in ("uae", "gold", "kl", "umi"):
            cfg = {"objective": objective, **{k: choice[k] for k in ("learning_rate", "epochs", "tau_s",
                                                                      "batch_queries")}}
            if objective != "gold":
                cfg["tau_t"] = choice["tau_t"]
            if objective == "uae":
                cfg["lam"] = choice["lam"]
            runs.append(Run(f"{objective}/seed={s}", "final", "main", {**cfg, "seed": s}))
    return runs


class Evaluator:
    """Scores a student on every eval set: per-query metrics, plus the top of the ranking for the subset
    that the report stage answers from."""

    def __init__(self, corpora: dict[str, Corpus], answer_queries: int, batch_size: int):
        self.corpora, self.batch_size = corpora, batch_size
        self.sets = {name: eval_queries(corpora, name) for name in EVAL_SETS}
        self.subset = {name: {q.query_id for q in fixed_subset(self.sets[name], answer_queries)}
                       for name in REPORTED}

    def __call__(self, model) -> dict:
        from uae_core.encoder import encode
        from uae_core.index import exact_search

        emb = {d: encode(model, [p.text for p in c.passages], batch_size=self.batch_size)
               for d, c in self.corpora.items()}
        out = {}
        for name, (domain, _, scope) in EVAL_SETS.items():
            queries, passages = self.sets[name], self.corpora[domain].passages
            q_emb = encode(model, [q.question for q in queries], batch_size=self.batch_size)
            rows = exact_search(emb[domain], q_emb, DEPTH, scope_rows(passages, queries, scope))
            ids = [[passages[r].passage_id for r in row] for row in rows]
            table = per_query_table(ids, [q.gold_passage_ids for q in queries])
            top = {q.query_id: i[:20] for q, i in zip(queries, ids) if q.query_id in self.subset.get(name, ())}
            out[name] = {"query_ids": [q.query_id for q in queries],
                         "per_query": {m: v.round(5).tolist() for m, v in table.items()},
                         "mean": {m: float(v.mean()) for m, v in table.items()}, "top20": top}
        return out


def train_stage(args, size: Size) -> None:
    import torch

    from uae_core.encoder import load_student
    from uae_core.training import TrainConfig, build_examples, train_student

    prepared = json.loads((args.workdir / "prepared.json").read_text())
    data = {d: (args.data_dir / Path(p).parent.name / Path(p).name if args.data_dir else p)
            for d, p in prepared["data"].items()}
    qasper = load_qasper(data["qasper"])
    by_qid = {q.query_id: q for q in qasper.queries}
    by_pid = {p.passage_id: p for p in qasper.passages}
    corpora = load_corpora(data, size.eval_papers)
    variants = prepared["variants"]
    variants["main-k-half"] = {**variants["main"], "sets": {q: s[: size.k // 2]
                                                             for q, s in variants["main"]["sets"].items()}}
    evaluator = Evaluator(corpora, size.answer_queries, batch_size=256 if args.device != "cpu" else 64)
    out_dir = args.workdir / "train"
    out_dir.mkdir(parents=True, exist_ok=True)
    student = args.student_path or prepared["student"]
    if args.device.startswith("cuda"):
        torch.backends.cuda.matmul.allow_tf32 = True  # TF32 matmuls for the student: ~10 bits of mantissa
    started = time.perf_counter()

    def run(r: Run | None) -> dict:
        path = out_dir / f"{(r.name if r else 'base').replace('/', '_')}.json"
        if path.is_file():  # resume
            return json.loads(path.read_text())
        if r is not None and args.deadline and time.perf_counter() - started > args.deadline:
            raise TimeoutError(f"deadline of {args.deadline} s reached before run {r.name}")
        model = load_student(student, device=args.device).float()
        record = {"name": "base" if r is None else r.name, "device": args.device,
                  "gpu": torch.cuda.get_device_name() if args.device.startswith("cuda") else None,
                  "tf32": torch.backends.cuda.matmul.allow_tf32}
        if r is not None:
            v = variants[r.variant]
            qids = list(v["sets"])[: r.n_questions or None]
            examples = build_examples(_sets(v, qids), v["utilities"], by_qid, by_pid)
            config = TrainConfig(**{"epochs": size.epochs, "embed_chunk_size": args.embed_chunk, **r.config})
            result = train_student(model, examples, config, show_progress=not args.quiet)
            record.update({"phase": r.phase, "variant": r.variant, "teacher_id": v["teacher_id"],
                           "config": asdict(config), "examples": len(examples), "steps": result.steps,
                           "train_seconds": round(result.seconds, 2), "epoch_losses": result.epoch_losses})
        t = time.perf_counter()
        record["metrics"] = evaluator(model)
        record["eval_seconds"] = round(time.perf_counter() - t, 2)
        _write_json(path, record)
        dev = record["metrics"]["qasper-dev"]["mean"]
        print(f"[train] {record['name']}: dev R@1 {dev['recall@1']:.3f} MAP {dev['map']:.3f} "
              f"({record.get('train_seconds', 0)} s train, {record['eval_seconds']} s eval)", flush=True)
        return record

    run(None)
    sweep = {r.name: run(r) for r in sweep_runs(size)}
    choice = tuned(sweep, size) if size.sweep else {k: v for k, v in asdict(TrainConfig(epochs=size.epochs)).items()
                                                     if k in TUNED}
    _write_json(out_dir / "tuned.json", choice)
    for r in final_runs(size, choice):
        run(r)


def _sets(variant: dict, qids: list[str]):
    from uae_core.candidates import CandidateSet

    return [CandidateSet(q, tuple(variant["sets"][q])) for q in qids]


# ----------------------------------------------------------------------------------------------- report
def report_stage(args, size: Size) -> None:
    records = [json.loads(p.read_text()) for p in sorted((args.workdir / "train").glob("*.json"))
               if p.name != "tuned.json"]
    runs = {r["name"]: r for r in records}
    choice = json.loads((args.workdir / "train" / "tuned.json").read_text())
    prepared = json.loads((args.workdir / "prepared.json").read_text())
    corpora = load_corpora(DATA, size.eval_papers)
    results = {"tuned": choice, "sets": {}, "answers": {}, "latency": {}}  # latency: filled by latency_stage
    finals = {obj: [runs[n] for n in runs if n.startswith(obj + "/seed=")] for obj in ("gold", "kl", "umi", "uae")}
    finals = {obj: rs for obj, rs in finals.items() if rs}  # a train stage cut short may lack some
    for name in ("qasper-test", "qasper-test-paper", "covidqa-test"):
        results["sets"][name] = retrieval_table(name, runs["base"], finals, corpora)
    answer_quality(args, size, runs, finals, corpora, results)
    results["sweep"] = {n: {"dev": r["metrics"]["qasper-dev"]["mean"], "train_seconds": r.get("train_seconds"),
                            "device": r["device"], "gpu": r.get("gpu")}
                        for n, r in runs.items() if r.get("phase") == "sweep" or n == "base"}
    results["started"] = args.started
    _write_json(args.workdir / "results.json", results)


def doc_stage(args, size: Size, results: dict | None = None) -> None:
    """Label statistics from prepared.json, then results.json and the page (re-rendered alone by --stage doc)."""
    results = results or json.loads((args.workdir / "results.json").read_text())
    prepared = json.loads((args.workdir / "prepared.json").read_text())
    results["labels"] = {name: {k: v[k] for k in ("teacher_id", "labeling", "gold_recall", "top1_is_gold")}
                         for name, v in prepared["variants"].items()}
    results["teacher_agreement"] = teacher_agreement(prepared)
    _write_json(args.workdir / "results.json", results)
    from results_doc import write_doc  # the tables and the plot (bench/results_doc.py)

    write_doc(results, size, args, args.workdir if args.size == "smoke" else REPO / "docs")  # smoke: not the docs


def retrieval_table(name: str, base: dict, finals: dict[str, list[dict]], corpora) -> dict:
    """Every system's mean metrics (trained ones averaged over seeds), relative gains over base with paired
    bootstrap intervals on the seed-averaged per-query scores, and each seed's gain."""
    from uae_core.bm25 import BM25Index
    from uae_core.retrieval import bm25_rank

    domain, _, scope = EVAL_SETS[name]
    queries = eval_queries(corpora, name)
    passages = corpora[domain].passages
    assert base["metrics"][name]["query_ids"] == [q.query_id for q in queries], "eval queries differ"
    rows = bm25_rank(BM25Index([p.text for p in passages]), queries, DEPTH, scope_rows(passages, queries, scope))
    per = {"bm25": per_query_table([[passages[r].passage_id for r in row] for row in rows],
                                   [q.gold_passage_ids for q in queries]),
           "base": {m: np.array(v) for m, v in base["metrics"][name]["per_query"].items()}}
    seeds = {}
    for obj, rs in finals.items():
        arrays = [{m: np.array(v) for m, v in r["metrics"][name]["per_query"].items()} for r in rs]
        per[obj] = {m: np.mean([a[m] for a in arrays], axis=0) for m in METRICS}
        seeds[obj] = [{m: float(a[m].mean()) for m in METRICS} for a in arrays]
    table = {}
    for system, arrays in per.items():
        row = {"mean": {m: float(arrays[m].mean()) for m in METRICS}}
        if system != "base":
            row["gain"] = {}
            for m in METRICS:
                row["gain"][m] = _gain(arrays[m], per["base"][m])
        if system in seeds:
            row["seeds"] = seeds[system]
            row["seed_sd"] = {m: statistics.pstdev([s[m] for s in seeds[system]]) for m in METRICS}
        table[system] = row
    return {"n_queries": len(queries), "n_passages": len(passages), "scope": scope, "systems": table}


def answer_quality(args, size: Size, runs: dict, finals: dict, corpora, results: dict) -> None:
    """On the answer subset of each reported set: LLM re-ranking of the base top-20, Token F1 of the
    teacher's answers from the top-1 and top-3 of each system (latency is measured alone: latency_stage)."""
    from uae_core.answering import Reader, answer_f1
    from uae_core.encoder import encode
    from uae_core.index import search
    from uae_core.rerank import rerank
    from uae_core.retrieval import bm25_rank

    base, teacher, upr = _query_time_models(args)
    reader = Reader(teacher, batch_size=8)
    cache_path = args.workdir / "answers_cache.json"
    cache = json.loads(cache_path.read_text()) if cache_path.is_file() else {}
    for name in REPORTED:
        domain = EVAL_SETS[name][0]
        passages = corpora[domain].passages
        row_of = {p.passage_id: i for i, p in enumerate(passages)}
        queries = fixed_subset(eval_queries(corpora, name), size.answer_queries)
        bm25, index = _first_stage(args, base, passages)
        bm25_rows = bm25_rank(bm25, queries, DEPTH, None)
        dense_rows = search(index, encode(base, [q.question for q in queries]), DEPTH)
        upr_rows = [np.concatenate([rerank(upr, q, row[:20], passages), row[20:]])
                    for q, row in zip(queries, dense_rows)]
        rankings = {"bm25": bm25_rows, "base": dense_rows, "upr": upr_rows}
        for obj in ("gold", "uae"):
            seed0 = next(r for r in finals[obj] if r["config"]["seed"] == size.seeds[0])
            top = seed0["metrics"][name]["top20"]
            rankings[obj] = [np.array([row_of[p] for p in top[q.query_id]]) for q in queries]
        gold = [q.gold_passage_ids for q in queries]
        table = {}
        for system, rows in rankings.items():
            ids = [[passages[r].passage_id for r in row] for row in rows]
            metrics = per_query_table(ids, gold)
            f1 = {}
            for k in (1, 3):
                f1[k] = answer_f1(reader, queries, rows, passages, k, cache, show_progress=True)
                cache_path.write_text(json.dumps(cache))
            table[system] = {"per_query": {"recall@1": metrics["recall@1"].tolist(), "map": metrics["map"].tolist(),
                                           "f1@1": f1[1].tolist(), "f1@3": f1[3].tolist()}}
        base_scores = table["base"]["per_query"]
        for system, row in table.items():
            row["mean"] = {m: float(np.mean(v)) for m, v in row["per_query"].items()}
            if system != "base":
                row["gain"] = {m: _gain(np.array(v), np.array(base_scores[m])) for m, v in row["per_query"].items()}
        results["answers"][name] = {"n_queries": len(queries), "systems": table}


def _query_time_models(args):
    """The base student, the teacher, and the UPR re-ranker over the teacher's same weights."""
    from uae_core.encoder import load_student
    from uae_core.rerank import upr_teacher
    from uae_core.teacher import Teacher, TeacherConfig

    teacher = Teacher(TeacherConfig(), cache_dir=REPO / "data" / "models", device=args.device)
    return load_student(args.student, device=args.device), teacher, upr_teacher(teacher)


def _first_stage(args, base, passages):
    """BM25 and the base encoder's FAISS index over a domain's passages (embeddings cached per model)."""
    from uae_core.bm25 import BM25Index
    from uae_core.encoder import cached_encode
    from uae_core.index import build_index
    from uae_core.models import student_fingerprint

    emb = cached_encode(base, [p.text for p in passages], REPO / "data" / "cache" / "embeddings",
                        model_key=f"base-{student_fingerprint(args.student)}", show_progress=True)
    return BM25Index([p.text for p in passages]), build_index(emb)


def _gain(system: np.ndarray, base: np.ndarray) -> list[float] | None:
    """[relative gain, low, high] with a paired bootstrap 95 % interval; None when the base scores 0."""
    from uae_core.stats import paired_bootstrap_gain

    if base.mean() <= 0:
        return None
    ci = paired_bootstrap_gain(system, base)
    return [ci.gain, ci.low, ci.high]


def latency_stage(args, size: Size) -> None:
    """Per-query latency of BM25, UAE's query path and LLM re-ranking, one process, nothing else running:
    re-measured alone because timings taken while other work shares the cores are not comparable."""
    from uae_core.encoder import encode
    from uae_core.index import search
    from uae_core.rerank import rerank
    from uae_core.retrieval import bm25_rank

    results = json.loads((args.workdir / "results.json").read_text())
    corpora = load_corpora(DATA, size.eval_papers)
    base, _, upr = _query_time_models(args)
    for name in REPORTED:
        passages = corpora[EVAL_SETS[name][0]].passages
        bm25, index = _first_stage(args, base, passages)
        queries = fixed_subset(eval_queries(corpora, name), args.latency_queries)
        systems = {"bm25": lambda q: bm25_rank(bm25, [q], DEPTH, None)[0],
                   "uae": lambda q: search(index, encode(base, [q.question]), DEPTH)[0],
                   "upr": lambda q: rerank(upr, q, search(index, encode(base, [q.question]), DEPTH)[0][:20], passages)}
        for fn in systems.values():  # warm-up: model loads, first-call allocations
            fn(queries[0])
        lat = {}
        for system, fn in systems.items():
            ms = []
            for q in queries:
                t = time.perf_counter()
                fn(q)
                ms.append((time.perf_counter() - t) * 1000)
            lat[system] = {"p50_ms": float(np.percentile(ms, 50)), "p95_ms": float(np.percentile(ms, 95))}
        lat["upr_over_uae_p50"] = lat["upr"]["p50_ms"] / lat["uae"]["p50_ms"]
        lat["queries"] = len(queries)
        results["latency"][name] = lat
        print(f"[latency] {name}: " + ", ".join(f"{s} p50 {v['p50_ms']:.2f} ms" for s, v in lat.items()
                                                 if isinstance(v, dict)) + f" -> {lat['upr_over_uae_p50']:.0f}x")
    _write_json(args.workdir / "results.json", results)


def teacher_agreement(prepared: dict) -> dict:
    """Spearman correlation of each knob teacher's utilities with SmolLM2's on the same pairs."""
    main = prepared["variants"]["main"]["utilities"]
    out = {}
    for v, d in prepared["variants"].items():
        if not v.startswith("teacher-"):
            continue
        rhos = []
        for qid, u in d["utilities"].items():
            common = [p for p in u if p in main.get(qid, {})]
            if len(common) >= 3:
                a, b = _ranks([u[p] for p in common]), _ranks([main[qid][p] for p in common])
                if a.std() > 0 and b.std() > 0:
                    rhos.append(float(np.corrcoef(a, b)[0, 1]))
        out[v] = {"median_spearman_vs_smollm2": statistics.median(rhos) if rhos else None, "queries": len(rhos)}
    return out


def _ranks(x) -> np.ndarray:
    return np.argsort(np.argsort(np.asarray(x))).astype(float)


def _write_json(path: Path, obj) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".partial")
    tmp.write_text(json.dumps(obj))
    tmp.replace(path)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", choices=sorted(SIZES), default="quick")
    ap.add_argument("--stage", choices=["all", "prepare", "train", "report", "latency", "doc"], default="all")
    ap.add_argument("--latency-queries", type=int, default=20, help="latency stage: questions per domain")
    ap.add_argument("--workdir", type=Path, help="default data/results/<size>")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--student", default="packaged:all-MiniLM-L6-v2")
    ap.add_argument("--student-path", help="train stage: load the base student from here instead")
    ap.add_argument("--data-dir", type=Path, help="train stage: the data files' folder on this machine")
    ap.add_argument("--labels", type=Path, default=REPO / "data" / "labels.duckdb")
    ap.add_argument("--embed-chunk", type=int, default=8, help="texts per training forward (GPU: 128)")
    ap.add_argument("--deadline", type=float, default=0, help="train stage: start no run after this many s")
    ap.add_argument("--quiet", action="store_true")
    args = ap.parse_args(argv)
    size = SIZES[args.size]
    args.workdir = args.workdir or REPO / "data" / "results" / args.size
    args.started = datetime.now(timezone.utc).isoformat(timespec="seconds")
    args.machine = f"{platform.machine()}, {platform.processor() or 'cpu'}"
    stages = {"prepare": prepare, "train": train_stage, "report": report_stage, "latency": latency_stage}
    for stage, fn in stages.items():
        if args.stage in ("all", stage):
            t = time.perf_counter()
            fn(args, size)
            print(f"[{stage}] done in {time.perf_counter() - t:.0f} s", flush=True)
    if args.stage in ("all", "report", "latency", "doc"):
        if args.stage != "all":  # the page keeps the date of the report stage's run
            args.started = json.loads((args.workdir / "results.json").read_text()).get("started", args.started)
        doc_stage(args, size)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
