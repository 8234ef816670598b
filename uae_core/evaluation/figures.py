"""A report as a table and a figure: every system's metrics side by side, and each system's relative gain
over the baseline with its 95 % interval (what MLflow shows for a run, and the benchmark's page)."""

from __future__ import annotations


def metrics_table(report: dict) -> dict[str, list]:
    """Columns: system, then one per metric (for mlflow.log_table and Markdown)."""
    systems = list(report["systems"])
    table: dict[str, list] = {"system": systems}
    for metric in report["metrics"]:
        table[metric] = [round(report["systems"][s][metric], 4) for s in systems]
    return table


def gains_figure(report: dict, title: str, metrics: tuple[str, ...] = ("success@1", "map"), ax=None):
    """Bars of relative gain over the baseline per system and metric, with 95 % intervals, on `ax` (a new
    figure when None); None when the report has no baseline gains."""
    key = next((k for k in report if k.startswith("relative_gain_vs_")), None)
    if key is None or not report[key]:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    gains, intervals = report[key], report.get(key.replace("relative_gain", "gain_ci95"), {})
    systems = list(gains)
    if ax is None:
        _, ax = plt.subplots(figsize=(1.2 + 1.1 * len(systems), 3.4))
    fig = ax.figure
    width = 0.8 / len(metrics)
    for i, metric in enumerate(metrics):
        xs = [j + (i - (len(metrics) - 1) / 2) * width for j in range(len(systems))]
        values = [100 * (gains[s].get(metric) or 0.0) for s in systems]
        ci = [intervals.get(s, {}).get(metric) for s in systems]
        err = [[max(0.0, v - 100 * c[0]) if c else 0 for v, c in zip(values, ci)],
               [max(0.0, 100 * c[1] - v) if c else 0 for v, c in zip(values, ci)]]
        ax.bar(xs, values, width, yerr=err, capsize=3, label=metric)
    ax.axhline(0, color="black", linewidth=0.8)
    ax.set_xticks(range(len(systems)), systems, rotation=20)
    ax.set_ylabel(f"% vs {key.removeprefix('relative_gain_vs_')}")
    ax.set_title(title)
    ax.legend()
    fig.tight_layout()
    return fig
