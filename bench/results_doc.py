"""docs/results.md and docs/results_gains.png from bench/results.py's results.json (tables only, no compute)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

LABELS = {"bm25": "BM25", "base": "base MiniLM", "gold": "hard-label (InfoNCE on gold)", "kl": "UAE, KL only",
          "umi": "UAE, utility InfoNCE only", "uae": "UAE (mix)", "upr": "LLM re-ranking of base top-20 (UPR)"}
RETRIEVAL = ("recall@1", "recall@5", "map", "mrr@10", "ndcg@10")
SET_TITLES = {"qasper-test": "QASPER test split, corpus scope", "covidqa-test": "COVID-QA test split, corpus scope "
              "(zero-shot: no COVID-QA training)", "qasper-test-paper": "QASPER test split, paper scope"}


def pct(x: float | None) -> str:
    return "n/a" if x is None else f"{x:+.1%}"


def gain_cell(g) -> str:
    return "n/a" if g is None else f"{g[0]:+.1%} [{g[1]:+.1%}, {g[2]:+.1%}]"


def retrieval_section(name: str, table: dict) -> list[str]:
    lines = [f"### {SET_TITLES[name]}", "",
             f"{table['n_queries']} questions, {table['n_passages']} passages. Trained encoders: mean over seeds "
             "(± population sd of the seeds' means).", "",
             "| system | " + " | ".join(RETRIEVAL) + " |", "|---|" + "---|" * len(RETRIEVAL)]
    for system, row in table["systems"].items():
        cells = []
        for m in RETRIEVAL:
            cell = f"{row['mean'][m]:.3f}"
            if "seed_sd" in row:
                cell += f" ± {row['seed_sd'][m]:.3f}"
            cells.append(cell)
        lines.append(f"| {LABELS[system]} | " + " | ".join(cells) + " |")
    lines += ["", "Relative gain over the base encoder, paired bootstrap 95 % interval over questions "
              "(seed-averaged per-query scores; 2,000 resamples); last column: each seed's Recall@1 gain.", "",
              "| system | Recall@1 | MAP | MRR@10 | per-seed Recall@1 gain |", "|---|---|---|---|---|"]
    base = table["systems"]["base"]["mean"]
    for system, row in table["systems"].items():
        if system == "base":
            continue
        seeds = ", ".join(pct(s["recall@1"] / base["recall@1"] - 1) for s in row.get("seeds", [])) or "-"
        lines.append(f"| {LABELS[system]} | {gain_cell(row['gain']['recall@1'])} | {gain_cell(row['gain']['map'])} "
                     f"| {gain_cell(row['gain']['mrr@10'])} | {seeds} |")
    return lines + [""]


def answers_section(name: str, answers: dict, latency: dict | None) -> list[str]:
    lines = [f"### {SET_TITLES[name]}: answer quality and latency ({answers['n_queries']} questions)", "",
             "| system | Recall@1 | MAP | Token F1 top-1 | Token F1 top-3 | F1 top-1 gain | F1 top-3 gain |",
             "|---|---|---|---|---|---|---|"]
    for system, row in answers["systems"].items():
        m, g = row["mean"], row.get("gain", {})
        lines.append(f"| {LABELS[system]} | {m['recall@1']:.3f} | {m['map']:.3f} | {m['f1@1']:.3f} | {m['f1@3']:.3f} "
                     f"| {gain_cell(g.get('f1@1')) if g else '-'} | {gain_cell(g.get('f1@3')) if g else '-'} |")
    if not latency:
        return lines + ["", "Latency: not measured yet (`bench/results.py --stage latency`).", ""]
    lines += ["", f"Per-query latency, {latency.get('queries', answers['n_queries'])} questions one at a time, "
              "in one process with nothing else running on this 2-core CPU (`--stage latency`; UAE = encode the "
              "question + FAISS search of the domain; UPR = that + the teacher over the top 20):", "",
              "| system | p50 ms | p95 ms |", "|---|---|---|"]
    for system in ("bm25", "uae", "upr"):
        lines.append(f"| {LABELS[system]} | {latency[system]['p50_ms']:.2f} | {latency[system]['p95_ms']:.2f} |")
    lines += ["", f"LLM re-ranking / UAE, p50: **{latency['upr_over_uae_p50']:.0f}x**.", ""]
    return lines


def targets_section(results: dict) -> list[str]:
    lines = ["| target | QASPER | COVID-QA |", "|---|---|---|"]

    def cell(name, fn):
        try:
            return fn(results, name)
        except (KeyError, TypeError):
            return "n/a"

    def gain(metric, need):
        def f(r, name):
            g = r["sets"][name]["systems"]["uae"]["gain"][metric]
            ok = g[0] >= need and g[1] > 0
            return f"{'met' if ok else 'missed'}: {gain_cell(g)}"
        return f

    def f1(k):
        def f(r, name):
            g = r["answers"][name]["systems"]["uae"]["gain"][f"f1@{k}"]
            return f"{'met' if g[0] >= 0.17 and g[1] > 0 else 'missed'}: {gain_cell(g)}"
        return f

    def beats(other):
        def f(r, name):
            s = r["sets"][name]["systems"]
            u, o = s["uae"]["mean"], s[other]["mean"]
            ok = (u["recall@1"] > o["recall@1"] and u["map"] > o["map"]) if other == "bm25" else \
                u["recall@1"] >= o["recall@1"] - 1e-9  # "at least as good as" (a tie counts)
            return (f"{'met' if ok else 'missed'}: R@1 {u['recall@1']:.3f} vs {o['recall@1']:.3f}, "
                    f"MAP {u['map']:.3f} vs {o['map']:.3f}")
        return f

    def latency(r, name):
        x = r["latency"][name]["upr_over_uae_p50"]
        return f"{'met' if x >= 180 else 'missed'}: {x:.0f}x"

    rows = [("UAE vs base Recall@1 >= +30 %, interval > 0", gain("recall@1", 0.30)),
            ("UAE vs base MAP >= +30 %, interval > 0", gain("map", 0.30)),
            ("UAE vs base Token F1 (top-1) >= +17 %", f1(1)), ("UAE vs base Token F1 (top-3) >= +17 %", f1(3)),
            ("UAE beats BM25 on Recall@1 and MAP", beats("bm25")),
            ("UAE >= hard-label encoder on Recall@1", beats("gold")),
            ("LLM re-ranking / UAE latency >= 180x", latency)]
    for title, fn in rows:
        lines.append(f"| {title} | {cell('qasper-test', fn)} | {cell('covidqa-test', fn)} |")
    return lines + [""]


def sweep_section(results: dict) -> list[str]:
    lines = ["| run | dev Recall@1 | dev MAP | train s | device |", "|---|---|---|---|---|"]
    for name, r in sorted(results["sweep"].items(), key=lambda kv: (kv[0] != "base", kv[0] != "default", kv[0])):
        lines.append(f"| {name} | {r['dev']['recall@1']:.3f} | {r['dev']['map']:.3f} | {r['train_seconds'] or '-'} "
                     f"| {r['gpu'] or r['device']} |")
    lines += ["", "Chosen on dev (each knob's best value, mean of Recall@1 and MAP): "
              + ", ".join(f"{k} = {v}" for k, v in results["tuned"].items()) + ".", ""]
    lines += ["| labeled candidate sets | teacher_id | pairs | labeled now (pairs/s) | gold among candidates "
              "| teacher's top-1 is gold (where gold is a candidate) |", "|---|---|---|---|---|---|"]
    for v, d in results["labels"].items():
        lab = d["labeling"]
        lines.append(f"| {v} | `{d['teacher_id']}` | {lab['pairs_total']} | {lab['pairs_labeled_now']} "
                     f"({lab['pairs_per_second']}) | {d['gold_recall']:.1%} | {d['top1_is_gold']:.1%} |")
    lines += ["", "| knob teacher | median Spearman of its utilities vs SmolLM2's, same pairs | questions |",
              "|---|---|---|"]
    for v, d in results["teacher_agreement"].items():
        rho = d["median_spearman_vs_smollm2"]
        lines.append(f"| {v} | {'n/a' if rho is None else f'{rho:.2f}'} | {d['queries']} |")
    return lines + [""]


def plot(results: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    systems = [s for s in ("bm25", "gold", "kl", "umi", "uae") if s in results["sets"]["qasper-test"]["systems"]]
    fig, axes = plt.subplots(1, 2, figsize=(11, 4), sharey=True)
    for ax, name in zip(axes, ("qasper-test", "covidqa-test")):
        rows = results["sets"][name]["systems"]
        for j, metric in enumerate(("recall@1", "map")):
            g = [rows[s]["gain"][metric] for s in systems]
            x = [i + (j - 0.5) * 0.38 for i in range(len(systems))]
            ax.bar(x, [v[0] * 100 for v in g], width=0.38, label=metric,
                   yerr=[[(v[0] - v[1]) * 100 for v in g], [(v[2] - v[0]) * 100 for v in g]], capsize=3)
        ax.axhline(30, color="grey", linestyle="--", linewidth=1, label="+30 % target")
        ax.axhline(0, color="black", linewidth=0.8)
        ax.set_xticks(range(len(systems)), [LABELS[s].split(" (")[0] for s in systems], rotation=20, fontsize=8)
        ax.set_title(SET_TITLES[name].split(" (")[0], fontsize=10)
    axes[0].set_ylabel("relative gain over base MiniLM, % (95 % CI)")
    axes[0].legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def write_doc(results: dict, size, args, docs: Path) -> Path:
    lines = ["# Results: UAE against every system of the design, both domains", "",
             f"Made by `bench/results.py --size {args.size}` ({args.started}); size: "
             + ", ".join(f"{k} = {v}" for k, v in vars(size).items()) + ". "
             + "See 'How this was run' for the machines.", "",
             "## Targets", ""] + targets_section(results) + [
             "![relative gains over the base encoder with 95 % intervals](results_gains.png)", ""]
    lines += ["## Retrieval, every system, held-out test splits", ""]
    for name in ("qasper-test", "covidqa-test", "qasper-test-paper"):
        lines += retrieval_section(name, results["sets"][name])
    lines += ["## Answer quality (Token F1) and speed, with LLM re-ranking", "",
              "On a fixed subset of each test split (LLM re-ranking costs ~20 teacher passes per question on this "
              "CPU). Token F1: the teacher (SmolLM2-135M) answers greedily from the top-1 / top-3 passages; SQuAD "
              "normalisation, max over the annotators' answers. Trained encoders: seed 0 of the final configs.", ""]
    for name in ("qasper-test", "covidqa-test"):
        lines += answers_section(name, results["answers"][name], results["latency"].get(name))
    lines += ["## Knobs (qasper dev split, seed 0, one knob at a time around the design's defaults)", ""]
    lines += sweep_section(results)
    notes = docs / "results_notes.md"
    if notes.is_file():
        lines += [notes.read_text()]
    path = docs / "results.md"
    path.write_text("\n".join(lines) + "\n")
    plot(results, docs / "results_gains.png")
    print(f"[report] wrote {path} and {docs / 'results_gains.png'}")
    return path


if __name__ == "__main__":  # re-render from a results.json: python bench/results_doc.py data/results/quick
    import argparse

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from results import SIZES

    workdir = Path(sys.argv[1])
    meta = json.loads((workdir / "results.json").read_text())
    ns = argparse.Namespace(size=workdir.name, started=meta.get("started", "?"))
    write_doc(meta, SIZES[workdir.name], ns, Path(__file__).resolve().parent.parent / "docs")
