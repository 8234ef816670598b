"""evaluate(): the same queries for every system, gains with bootstrap intervals, a readable Markdown twin."""

import numpy as np
import pytest

from uae_core.data import Passage, Query
from uae_core.evaluation.report import evaluate, to_markdown, write_report

PASSAGES = [Passage(f"p{i}", "x", "s", f"text {i}") for i in range(6)]
QUERIES = [Query(f"q{i}", "x", f"question {i}", ("a",), ("",), (f"p{i}",), "test") for i in range(6)]
NO_GOLD = Query("qn", "x", "no gold", ("a",), ("",), (), "test")


def oracle(queries, allowed):  # ranks the gold passage first
    return [np.array([int(q.query_id[1:])] + [j for j in range(6) if j != int(q.query_id[1:])]) for q in queries]


def reverse(queries, allowed):  # ranks the gold passage last
    return [np.array([j for j in range(6) if j != int(q.query_id[1:])] + [int(q.query_id[1:])]) for q in queries]


def test_report_has_every_system_on_the_same_queries(tmp_path):
    report = evaluate({"base": reverse, "uae": oracle}, PASSAGES, QUERIES + [NO_GOLD], "corpus")
    assert report["n_queries"] == 6  # the question without gold evidence is not scored
    assert report["systems"]["uae"]["success@1"] == 1.0 and report["systems"]["base"]["success@1"] == 0.0
    assert report["systems"]["base"]["map"] == pytest.approx(1 / 6)
    assert report["relative_gain_vs_base"]["uae"]["map"] == pytest.approx(5.0)
    assert report["relative_gain_vs_base"]["uae"]["success@1"] is None  # base scores 0: no ratio
    assert report["gain_ci95_vs_base"]["uae"]["map"] == pytest.approx([5.0, 5.0])
    json_path, md_path = write_report(report, tmp_path, "t")
    md = md_path.read_text()
    assert "| uae | 1.000 |" in md and "+500.0% [+500.0%, +500.0%]" in md
    assert json_path.is_file() and to_markdown(report, "t") == md


def test_evaluate_logs_each_system_as_it_finishes(caplog, monkeypatch):
    """eval_report scores several systems, one LLM re-ranker among them: progress in the run's log."""
    import logging

    monkeypatch.setenv("UAE_PROGRESS_SECONDS", "0")
    with caplog.at_level(logging.INFO, logger="uae_core"):
        evaluate({"base": reverse, "uae": oracle}, PASSAGES, QUERIES, "corpus")
    lines = [r.getMessage() for r in caplog.records if r.name == "uae_core.progress"]
    assert lines[0] == "evaluate 6 questions: 0/2 systems (0%), started"
    assert lines[1].startswith("evaluate 6 questions: 1/2 systems (50%), ") and lines[-1].endswith(", done")


def test_evaluate_encoder_job_reports_any_encoder_on_any_file(tmp_path, monkeypatch, tiny_student_dir):
    import json

    from dagster import DagsterInstance

    from tests.helpers import synthetic_qasper
    from uae_assets.definitions import defs

    data = tmp_path / "mine.json"
    data.write_text(json.dumps(synthetic_qasper(12)))
    monkeypatch.setenv("UAE_DATA_DIR", str(tmp_path / "data"))
    with DagsterInstance.ephemeral() as instance:
        result = defs.resolve_job_def("evaluate_encoder").execute_in_process(instance=instance, run_config={
            "ops": {"evaluate_encoder_op": {"config": {"model": str(tiny_student_dir), "data": str(data),
                                                     "split": "all", "scope": "paper"}}}})
    report = result.output_for_node("evaluate_encoder_op")
    assert set(report["systems"]) == {"bm25", "base", "model", "hybrid", "hybrid_base"}
    assert report["n_queries"] == 24
    assert report["scope"] == "paper" and report["model"] == str(tiny_student_dir)
    saved = json.loads((tmp_path / "data" / "reports" / "evaluate" / "mine" / "eval_report.json").read_text())
    assert saved["systems"]["model"] == pytest.approx(report["systems"]["model"])
