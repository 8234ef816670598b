"""docs/results.md and its figure from bench.results' results.json: a pure function of that file (tables, no
compute), so the page can be re-rendered anywhere with `python -m bench.results --stage doc`."""

from __future__ import annotations

from pathlib import Path

LABELS = {"bm25": "BM25", "base": "base MiniLM", "hybrid_base": "BM25 + base (fusion tuned on dev)",
          "uae": "UAE", "hybrid_uae": "UAE + BM25 (fusion tuned on dev)", "hard_label": "hard-label (InfoNCE on gold)",
          "hybrid_hard_label": "hard-label + BM25 (fusion tuned on dev)",
          "llm_rerank": "LLM re-ranking of base top-20 (UPR)"}
ANNOTATIONS = {"hard_label", "hybrid_hard_label"}  # systems trained on gold evidence annotations
SHOWN = ("success@1", "success@5", "recall@20", "map", "mrr@10", "ndcg@10")


def fusion_text(fusion: dict) -> str:
    """`convex, weight 0.2` or `RRF k 60, weight 0.6` (records from before `method` existed were RRF)."""
    method = fusion.get("method", "rrf")
    return f"convex, weight {fusion['dense_weight']}" if method == "convex" else \
        f"RRF k {fusion['k']}, weight {fusion['dense_weight']}"


def label(system: str) -> str:
    if system.startswith("uae_from_"):
        return f"UAE trained on {system.removeprefix('uae_from_')} (zero-shot)"
    return LABELS.get(system, system)


def gain_cell(g) -> str:
    return "n/a" if g is None else f"{g[0]:+.1%} [{g[1]:+.1%}, {g[2]:+.1%}]"


def mean_cell(row: dict, metric: str) -> str:
    seeds = row.get("seeds") or []
    if len(seeds) > 1:
        values = [s[metric] for s in seeds]
        spread = (sum((v - row["mean"][metric]) ** 2 for v in values) / len(values)) ** 0.5
        return f"{row['mean'][metric]:.3f} ± {spread:.3f}"
    return f"{row['mean'][metric]:.3f}"


def targets(results: dict) -> list[str]:
    domains = list(results["domains"])
    lines = ["| target | " + " | ".join(domains) + " |", "|---|" + "---|" * len(domains)]

    def row(title: str, check) -> None:
        cells = []
        for d in domains:
            try:
                cells.append(check(results["domains"][d]["systems"]))
            except KeyError:
                cells.append("n/a")
        lines.append(f"| {title} | " + " | ".join(cells) + " |")

    def over_base(metric: str):
        def check(s):
            g = s["uae"]["gain"][metric]
            if g is None:
                return "n/a (the base encoder scores 0)"
            return f"{'met' if g[0] >= 0.30 and g[1] > 0 else 'missed'}: {gain_cell(g)}"
        return check

    def hybrid_beats(s):
        h, b, base = s["hybrid_uae"]["mean"], s["bm25"]["mean"], s["base"]["mean"]
        ok = all(h[m] > max(b[m], base[m]) for m in ("success@1", "map"))
        return (f"{'met' if ok else 'missed'}: success@1 {h['success@1']:.3f} vs BM25 {b['success@1']:.3f} / base "
                f"{base['success@1']:.3f}; MAP {h['map']:.3f} vs {b['map']:.3f} / {base['map']:.3f}")

    def vs_hard(s):
        u, h = s["uae"]["mean"], s["hard_label"]["mean"]
        ok = u["success@1"] >= h["success@1"]
        return (f"{'met' if ok else 'missed'}: success@1 {u['success@1']:.3f} vs {h['success@1']:.3f}, MAP "
                f"{u['map']:.3f} vs {h['map']:.3f}")

    row("UAE vs base, success@1 (Recall@1) >= +30 %, interval > 0", over_base("success@1"))
    row("UAE vs base, MAP >= +30 %, interval > 0", over_base("map"))
    row("UAE + BM25 beats BM25 and the base on success@1 and MAP", hybrid_beats)
    row("UAE (no annotations) >= hard-label (gold annotations), success@1", vs_hard)
    return lines


def domain_section(name: str, d: dict) -> list[str]:
    systems = d["systems"]
    pinned = d.get("domain_settings")
    lines = [f"## {name}: test split ({d['n_test']} questions)", "",
             *(["This domain's own training settings (`run_config:` in domains.yaml) replace the finals' here: "
                + ", ".join(f"{k} = {v}" for k, v in pinned.items()) + ".", ""] if pinned else []),
             "Trained systems: mean over seeds ± the population sd of the seeds' means. `annotations`: trained on "
             "gold evidence (users of UAE need none).", "",
             "| system | annotations | " + " | ".join(SHOWN) + " |", "|---|---|" + "---|" * len(SHOWN)]
    for system, row in systems.items():
        lines.append(f"| {label(system)} | {'yes' if system in ANNOTATIONS else 'no'} | "
                     + " | ".join(mean_cell(row, m) for m in SHOWN) + " |")
    lines += ["", "Relative gain over the base encoder, paired bootstrap 95 % interval over questions (2,000 "
              "resamples, seed-averaged per-query scores):", "",
              "| system | success@1 | MAP | MRR@10 | nDCG@10 |", "|---|---|---|---|---|"]
    for system, row in systems.items():
        if system != "base":
            g = row["gain"]
            lines.append(f"| {label(system)} | {gain_cell(g['success@1'])} | {gain_cell(g['map'])} | "
                         f"{gain_cell(g['mrr@10'])} | {gain_cell(g['ndcg@10'])} |")
    questions = d.get("fusion_questions", {})
    for system, fusions in d.get("fusions", {}).items():
        extra = (questions.get(system) or d["n_dev"]) - d["n_dev"]  # unseen documents' train questions
        where = f"the dev split and {extra} train questions of documents no trained question came from" if extra \
            else "the dev split"
        lines += ["", f"{label(f'hybrid_{system}')}: fusion chosen on {where}"
                  + (", per seed: " if len(fusions) > 1 else ": ") + ", ".join(map(fusion_text, fusions)) + "."]
    for system, shares in d.get("merge_shares", {}).items():
        lines += ["", f"{label(system)}: merge share toward the base (chosen on dev, `TrainConfig.merge_shares`)"
                  + (", per seed: " if len(shares) > 1 else ": ") + ", ".join(f"{s:g}" for s in shares) + "."]
    if d.get("train_devices"):
        lines += ["", f"Trainings of this domain ran on: {', '.join(d['train_devices'])} (each record's `device`)."]
    labels = d["labels"]
    lab = labels["labeling"]
    reused = labels.get("pairs_reused_from_file", 0)
    total = lab["pairs_total"] + reused  # pairs reused from an earlier run's file never reach the labeler
    sources = ", ".join(f"`{s}`" for s in labels.get("sources", ["bm25", "dense"]))
    questions = labels.get("questions") or lab["queries"]
    lines += ["", f"Labels: teacher `{labels['teacher_id']}`, {total} pairs of {questions} train "
              f"questions, candidates from {sources} ({lab['pairs_labeled_now']} labeled by this run at "
              f"{lab['pairs_per_second']:.2f} pairs/s, "
              + (f"{reused} reused from an earlier run's file (`--reuse-labels`), " if reused else "")
              + "the rest reused from the label store); gold evidence among the candidates for "
              f"{labels['gold_recall']:.1%} of the questions; where it is, the teacher's most useful candidate is gold "
              f"for {labels['top1_is_gold']:.1%}.", ""]
    if d.get("sweep"):
        lines += ["### Dev-split sweep (seed 0, one knob at a time around the sweep's centre)", "",
                  f"Base encoder on dev: success@1 {d['base_dev']['success@1']:.3f}, MAP {d['base_dev']['map']:.3f}.",
                  "",
                  "| run | dev success@1 | dev MAP | training examples | train s |", "|---|---|---|---|---|"]
        for run, r in d["sweep"].items():
            lines.append(f"| {run.removeprefix('sweep/')} | {r['dev']['success@1']:.3f} | {r['dev']['map']:.3f} | "
                         f"{r['examples']} | {r['train_seconds']:.0f} |")
        lines.append("")
    return lines


def answers_section(answers: dict) -> list[str]:
    lines = ["## Answer quality and speed, with LLM re-ranking", "",
             "A fixed subset of each test split. Token F1: the teacher answers greedily from each system's top 1 / "
             "top 3 passages (SQuAD normalisation, max over the reference answers). Latency: per question, one at "
             "a time, in one process (the UAE query path is the base encoder's: encode the question, search "
             "FAISS).", ""]
    for domain, a in answers.items():
        lines += [f"### {domain} ({a['n_queries']} questions)", "",
                  "| system | success@1 | MAP | Token F1 top-1 | Token F1 top-3 | p50 ms | p95 ms |",
                  "|---|---|---|---|---|---|---|"]
        for system, row in a["systems"].items():
            m = row["mean"]
            p50, p95 = row.get("latency_ms_p50"), row.get("latency_ms_p95")
            lines.append(f"| {label(system)} | {m['success@1']:.3f} | {m['map']:.3f} | {m['f1@1']:.3f} | "
                         f"{m['f1@3']:.3f} | {'' if p50 is None else f'{p50:.1f}'} | "
                         f"{'' if p95 is None else f'{p95:.1f}'} |")
        systems = a["systems"]
        if "llm_rerank" in systems and "base" in systems:
            ratio = systems["llm_rerank"]["latency_ms_p50"] / systems["base"]["latency_ms_p50"]
            lines += ["", f"LLM re-ranking / UAE query path, p50: **{ratio:.0f}x**."]
        lines.append("")
    return lines


def render(results: dict) -> str:
    lines = ["# Results: UAE against what users already have", "",
             f"Made by `python -m bench.results --size {results['size']}` (started {results['started']} UTC, "
             f"{results['machine']}); every number below is in `results.json` beside the run's files.", "",
             "## Targets", "", *targets(results), "", "![gains over the base encoder](results_gains.png)", ""]
    chosen = results.get("chosen")
    if chosen:
        centre = ", ".join(f"{k} = {v}" for k, v in results.get("centre", {}).items())
        settings = ", ".join(f"{k} = {v}" for k, v in chosen["overrides"].items()) or centre
        budget = (f"K = {chosen['k']}" if chosen.get("k") else "K as labeled") + (
            f", {chosen['questions']:.0%} of the questions" if chosen.get("questions", 1.0) < 1 else "")
        swept = any(d.get("sweep") for d in results["domains"].values())
        how = (f"the dev sweep's best run by MAP on {next(iter(results['domains']))}'s dev split: `{chosen['name']}`"
               if swept else "the sweep's centre (`--no-sweep`: no sweep this run)")
        lines += [f"Final systems (UAE and hard-label, every domain, every seed) train with {how} ({settings}; "
                  f"{budget}).", ""]
    for name, d in results["domains"].items():
        lines += domain_section(name, d)
    if results.get("answers"):
        lines += answers_section(results["answers"])
    return "\n".join(lines) + "\n"


def write_page(results: dict, out: Path) -> Path:
    """docs/results.md, and results_gains.png: each domain's gains over the base encoder with 95 % intervals."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from uae_core.evaluation.figures import gains_figure

    out.mkdir(parents=True, exist_ok=True)
    page = out / "results.md"
    page.write_text(render(results))
    domains = results["domains"]
    fig, axes = plt.subplots(len(domains), 1, figsize=(12, 3.8 * len(domains)), squeeze=False)
    for ax, (name, d) in zip(axes[:, 0], domains.items()):
        shown = {label(s): r["gain"] for s, r in d["systems"].items() if s != "base"}
        gains_figure({"relative_gain_vs_base": {s: {m: g[m][0] if g[m] else None for m in g} for s, g in shown.items()},
                      "gain_ci95_vs_base": {s: {m: g[m][1:] if g[m] else None for m in g} for s, g in shown.items()}},
                     f"{name}: test split, gain over the base encoder", ax=ax)
    fig.tight_layout()
    fig.savefig(out / "results_gains.png", dpi=110)
    plt.close(fig)
    return page
