"""Learning curves of the labeling policies: dev and test success@1 / MAP against teacher pairs labeled.

A simulation over a stored full labeling (a label stage's workdir: sets.json and labels.duckdb, e.g.
bench.weight_merge's 400 x 2 per domain): each policy ranks the pool's questions with the base encoder
(round 1: no champion yet) before looking at any label, `select_round` spends the budget, and the student is
trained on the chosen pairs' stored labels by the pipeline's training step (train_and_merge). Selecting
from labels already computed is what asking the teacher for those pairs would have returned: the same
teacher, the same prompts. `all` (the whole pool) is the line to reach.

    .venv/bin/python -m bench.active_labeling --domain covidqa --workdir data/hybrid_objective/covidqa \\
        --budget 400 --policy random --policy margin --policy disagreement
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from bench.results import domain_training_settings
from bench.students import HEADLINE_METRICS, SPLITS, load_teacher_for, score_cells, scores
from uae_assets.domains import data_dir, get_domain
from uae_core.data import load_corpus
from uae_core.evaluation.compare import dev_metrics
from uae_core.evaluation.stats import paired_bootstrap_difference
from uae_core.labeling.candidates import CandidateSet
from uae_core.labeling.label_store import LabelStore
from uae_core.labeling.selection import rank_questions, select_round
from uae_core.pipeline import train_and_merge
from uae_core.retrieval.encoder import load_student
from uae_core.training.examples import build_examples
from uae_core.training.trainer import TrainConfig
from uae_core.weights import DEFAULT_STUDENT, DEFAULT_TEACHER

REPO = Path(__file__).resolve().parent.parent


def curve_point(domain_name: str, workdir: Path, policy: str, budget: int, seed: int, student: str,
                teacher: str, settings: dict | None = None) -> dict:
    """One point: the policy's choice of `budget` pairs from the pool (0 = all), trained and scored; `settings`
    replace the domain's training settings field by field (TrainConfig names)."""
    domain = get_domain(domain_name)
    corpus = load_corpus(domain.source_file(), domain.format)
    cache = data_dir() / "cache" / "embeddings"
    pool = [CandidateSet(q, tuple(p)) for q, p in json.loads((workdir / "sets.json").read_text()).items()]
    if budget:
        ranking = rank_questions(policy, pool, corpus.passages, corpus.queries, domain.scope, load_student(student),
                                 cache)
        sets = select_round(pool, set(), ranking, budget).sets
    else:
        sets = pool
    with LabelStore.open(workdir / "labels.duckdb", read_only=True) as store:
        utilities = store.utilities(load_teacher_for(teacher).teacher_id, [s.query_id for s in sets])
    examples = build_examples(sets, utilities, {q.query_id: q for q in corpus.queries},
                              {p.passage_id: p for p in corpus.passages})
    model, started = load_student(student), time.perf_counter()
    config = TrainConfig(**{**domain_training_settings(domain_name), **(settings or {}), "seed": seed})
    _, choice = train_and_merge(model, examples, config,
                                lambda m: dev_metrics(m, corpus.passages, corpus.queries, domain.scope, cache),
                                show_progress=False)
    pairs = sum(len(s.passage_ids) for s in sets)
    return {"domain": domain_name, "policy": policy if budget else "all", "pairs": pairs,
            "questions": len(sets), "seed": seed, "merge_share": choice.share,
            "seconds": round(time.perf_counter() - started, 1),
            **scores(model, corpus, domain, cache, per_query=True)}


def against_all(rows: list[dict]) -> list[dict]:
    """Per (domain, policy, pairs): the mean over seeds, and the test R@1 difference from `all` in points with
    its paired bootstrap 95 % interval (per question, success@1 averaged over the seeds both have)."""
    out = []
    for (domain, policy, pairs), group in groupby_key(rows, ("domain", "policy", "pairs")).items():
        line = {"domain": domain, "policy": policy, "pairs": pairs, "seeds": sorted(r["seed"] for r in group),
                **{split: {m: sum(r[split][m] for r in group) / len(group) for m in HEADLINE_METRICS}
                   for split in SPLITS}}
        full = {r["seed"]: r for r in rows if r["domain"] == domain and r["policy"] == "all" and "per_query" in r}
        seeds = [r["seed"] for r in group if "per_query" in r and r["seed"] in full]
        if policy != "all" and seeds:
            mine = {r["seed"]: r for r in group}
            qids = sorted(full[seeds[0]]["per_query"]["test"])
            diff, low, high = paired_bootstrap_difference(seed_mean(mine, seeds, qids), seed_mean(full, seeds, qids))
            line["vs_all"] = {"seeds": seeds, "diff": diff, "low": low, "high": high}
        out.append(line)
    return out


def seed_mean(by_seed: dict[int, dict], seeds: list[int], qids: list[str]) -> np.ndarray:
    """Each test question's success@1 averaged over `seeds`."""
    return np.array([np.mean([by_seed[s]["per_query"]["test"][q] for s in seeds]) for q in qids])


def groupby_key(rows: list[dict], keys: tuple[str, ...]) -> dict[tuple, list[dict]]:
    groups: dict[tuple, list[dict]] = {}
    for r in rows:
        groups.setdefault(tuple(r[k] for k in keys), []).append(r)
    return groups


def page(rows: list[dict], command: str) -> str:
    lines = ["# Labeling policies: learning curves (bench.active_labeling)", "",
             f"`{command}` on {platform.machine()} CPU, {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC. A simulation "
             "over a stored full labeling (see the module's docstring): each policy picks, with the base encoder "
             "and before any label is read, the questions whose pairs fit the budget; the student is trained "
             "by the pipeline's training step on those pairs' stored labels. `all`: the whole pool. A seed is "
             "the training's; the policies' choices do not depend on it (`random` is the fixed order "
             "`max_train_queries` takes).", "",
             "| domain | policy | teacher pairs | seeds | dev R@1 | dev MAP | test R@1 | test MAP | "
             "test R@1 - all's (points, 95 % CI) |", "|---|---|---|---|---|---|---|---|---|"]
    for line in against_all(rows):
        vs = line.get("vs_all")
        cell = (f"{100 * vs['diff']:+.1f} [{100 * vs['low']:+.1f}, {100 * vs['high']:+.1f}]" if vs else "")
        lines.append(f"| {line['domain']} | {line['policy']} | {line['pairs']} | "
                     f"{', '.join(map(str, line['seeds']))} | {score_cells(line)} | {cell} |")
    lines += ["", "Each training:", "",
              "| domain | policy | teacher pairs | questions | seed | dev R@1 | dev MAP | test R@1 | test MAP |",
              "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['domain']} | {r['policy']} | {r['pairs']} | {r['questions']} | {r['seed']} | "
                     f"{score_cells(r)} |")
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--domain", required=True)
    ap.add_argument("--workdir", type=Path, required=True, help="a label stage's workdir (sets.json, labels.duckdb)")
    ap.add_argument("--budget", type=int, action="append", required=True, help="teacher pairs; 0 = all")
    ap.add_argument("--policy", action="append", default=None, help="random, margin, disagreement")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0])
    ap.add_argument("--student", default=DEFAULT_STUDENT)
    ap.add_argument("--teacher", default=DEFAULT_TEACHER)
    ap.add_argument("--out", type=Path, default=data_dir() / "active_labeling")
    args = ap.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    rows = []
    for seed in args.seeds:
        for budget in args.budget:
            for policy in (args.policy or ["random", "margin", "disagreement"]) if budget else ["all"]:
                rows.append(curve_point(args.domain, args.workdir, policy, budget, seed, args.student, args.teacher))
                print(json.dumps({k: v for k, v in rows[-1].items()}), flush=True)
                (args.out / f"{args.domain}.json").write_text(json.dumps(rows, indent=1))
    command = "python -m bench.active_labeling " + " ".join(argv if argv is not None else sys.argv[1:])
    (args.out / f"{args.domain}.md").write_text(page(rows, command))
    print(args.out / f"{args.domain}.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
