"""Evaluate retrieval systems side by side: same queries, same passages, same scope, same metrics.

A system is a `retrieval.systems.Ranker`. Each runs once: the first queries one at a time (timed, for
latency), the rest in one batch, all in the same process. The report is a JSON-able dict (and Markdown)
with every system's metrics, latency, and relative gains over a baseline with paired bootstrap intervals.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from uae_core.data import Passage, Query
from uae_core.evaluation.metrics import METRICS, per_query_table
from uae_core.evaluation.stats import gain_interval
from uae_core.progress import Progress
from uae_core.retrieval.ranking import scope_rows
from uae_core.retrieval.systems import Ranker

if TYPE_CHECKING:
    from uae_core.evaluation.reader import Reader


@dataclass
class AnswerEval:
    """Token F1 of the reader's answer from each system's top k, for each k in `top_k` (see reader.py)."""

    reader: Reader
    top_k: Sequence[int] = (1, 3)
    cache: dict = field(default_factory=dict)


@dataclass
class SystemResult:
    metrics: dict[str, float]
    per_query: dict[str, np.ndarray]
    latency_ms_p50: float
    latency_ms_p95: float
    rankings: list[np.ndarray] = field(default_factory=list)  # passage rows per query, best first


def run_system(ranker: Ranker, passages: Sequence[Passage], queries: Sequence[Query], scope: str,
               latency_queries: int = 100, answers: AnswerEval | None = None) -> SystemResult:
    """The first `latency_queries` queries run one at a time (timed), the rest in one batch: the same
    rankings, and an expensive system (LLM re-ranking) is not run twice."""
    allowed = scope_rows(passages, queries, scope)
    n = min(latency_queries, len(queries))
    rankings, times = [], []
    for i, q in enumerate(queries[:n]):
        t = time.perf_counter()
        rankings += ranker([q], None if allowed is None else [allowed[i]])
        times.append((time.perf_counter() - t) * 1000)
    if n < len(queries):
        rankings += ranker(queries[n:], None if allowed is None else allowed[n:])
    ids = [[passages[r].passage_id for r in row] for row in rankings]
    table = per_query_table(ids, [q.gold_passage_ids for q in queries])
    if answers is not None:
        from uae_core.evaluation.reader import answer_f1

        for k in answers.top_k:
            table[f"f1@{k}"] = answer_f1(answers.reader, queries, rankings, passages, k, answers.cache)
    p50, p95 = (float(np.percentile(times, q)) for q in (50, 95)) if times else (float("nan"),) * 2
    return SystemResult({m: float(v.mean()) for m, v in table.items()}, table, p50, p95, rankings)


def evaluate(systems: dict[str, Ranker], passages: Sequence[Passage], queries: Sequence[Query], scope: str,
             baseline: str = "base", answers: AnswerEval | None = None, trec_dir: str | Path | None = None) -> dict:
    """Report dict: systems -> metrics (and Token F1 with `answers`) and latency, gains relative to
    `baseline` with paired bootstrap intervals, counts. With `trec_dir`, each system's ranking is also
    written as a TREC run file (and the gold as qrels), for trec_eval, ranx or pytrec_eval."""
    queries = [q for q in queries if q.gold_passage_ids]
    if not queries:
        raise ValueError("no evaluation query has gold evidence")
    progress = Progress(f"evaluate {len(queries)} questions", unit="systems")
    progress(0, len(systems))
    results = {}
    for name, ranker in systems.items():
        results[name] = run_system(ranker, passages, queries, scope, answers=answers)
        progress(len(results), len(systems))
    if trec_dir is not None:
        write_trec(trec_dir, {n: r.rankings for n, r in results.items()}, passages, queries)
    metrics = list(METRICS) + ([f"f1@{k}" for k in answers.top_k] if answers else [])
    report = {
        "metrics": metrics,
        "scope": scope,
        "n_queries": len(queries),
        "n_passages": len(passages),
        "systems": {n: {**r.metrics, "latency_ms_p50": r.latency_ms_p50, "latency_ms_p95": r.latency_ms_p95}
                    for n, r in results.items()},
    }
    if baseline in results:
        base = results[baseline].metrics
        report["relative_gain_vs_" + baseline] = {
            n: {m: (r.metrics[m] / base[m] - 1.0) if base[m] > 0 else None for m in metrics}
            for n, r in results.items() if n != baseline}
        report["gain_ci95_vs_" + baseline] = {
            n: {m: _low_high(r.per_query[m], results[baseline].per_query[m]) for m in metrics}
            for n, r in results.items() if n != baseline}
    return report


def _low_high(system: np.ndarray, baseline: np.ndarray) -> list[float] | None:
    ci = gain_interval(system, baseline)
    return None if ci is None else [ci.low, ci.high]


def to_markdown(report: dict, title: str) -> str:
    metrics = report.get("metrics", METRICS)
    lines = [f"# {title}", "",
             f"{report['n_queries']} held-out questions, {report['n_passages']} passages, scope `{report['scope']}`.",
             "", "| system | " + " | ".join(metrics) + " | p50 ms | p95 ms |",
             "|---|" + "---|" * (len(metrics) + 2)]
    for name, m in report["systems"].items():
        lines.append(f"| {name} | " + " | ".join(f"{m[k]:.3f}" for k in metrics)
                     + f" | {m['latency_ms_p50']:.2f} | {m['latency_ms_p95']:.2f} |")
    served = report.get("served")
    if served and served["system"] != "hybrid":
        lines += ["", f"Served: `{served['system']}` ({served['why']})."]
    for name, f in report.get("fusions", {}).items():
        how = (f"RRF, k {f['k']}" if f["method"] == "rrf" else "convex") + f", dense weight {f['dense_weight']:g}"
        if f.get("tuning_questions") is None:
            lines += ["", f"`{name}`: {how}, as its index was built."]
        elif f.get("tuned"):
            lines += ["", f"`{name}`: {how}, chosen on {f['tuning_questions']} tuning questions."]
        else:
            lines += ["", f"`{name}`: {how}, the untuned default: only {f['tuning_questions']} tuning questions "
                      "(dev split), too few to choose a weight on."]
    for key, gains in report.items():
        if key.startswith("relative_gain_vs_"):
            lines += ["", f"Relative gain vs `{key.removeprefix('relative_gain_vs_')}`:", "",
                      "| system | " + " | ".join(metrics) + " |", "|---|" + "---|" * len(metrics)]
            intervals = report.get(key.replace("relative_gain", "gain_ci95"), {})
            for name, g in gains.items():
                ci = intervals.get(name, {})
                lines.append(f"| {name} | " + " | ".join(
                    "n/a" if g[k] is None else f"{g[k]:+.1%}" + (
                        f" [{ci[k][0]:+.1%}, {ci[k][1]:+.1%}]" if ci.get(k) else "") for k in metrics) + " |")
            lines += ["", "Brackets: paired bootstrap 95 % interval over questions (2,000 resamples)."]
    return "\n".join(lines) + "\n"


def write_trec(directory: str | Path, rankings: dict[str, list[np.ndarray]], passages: Sequence[Passage],
               queries: Sequence[Query], depth: int = 100) -> None:
    """`<system>.run` files (`qid Q0 passage_id rank score system`, score = depth - rank + 1) and `qrels.txt`."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    with open(directory / "qrels.txt", "w") as out:
        for q in queries:
            out.writelines(f"{q.query_id} 0 {pid} 1\n" for pid in q.gold_passage_ids)
    for system, rows in rankings.items():
        with open(directory / f"{system}.run", "w") as out:
            for q, row in zip(queries, rows):
                out.writelines(f"{q.query_id} Q0 {passages[r].passage_id} {rank} {depth - rank + 1} {system}\n"
                               for rank, r in enumerate(row[:depth], start=1))


def write_report(report: dict, directory: str | Path, title: str) -> tuple[Path, Path]:
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    json_path, md_path = directory / "eval_report.json", directory / "eval_report.md"
    json_path.write_text(json.dumps(report, indent=2, sort_keys=False))
    md_path.write_text(to_markdown(report, title))
    return json_path, md_path
