"""bench/ is a package of modules run as `python -m bench.NAME`, and they reach the domain's steps through the
functions the assets run (uae_core.pipeline), never through a copy: no sys.path edits, and none of the
pieces a step is made of called on their own."""

import ast
import importlib

import pytest

from tests.helpers import REPO

BENCHES = sorted(p.stem for p in (REPO / "bench").glob("*.py") if p.stem != "__init__")
# A step's insides: a bench that calls one of these has its own copy of the step.
STEP_INSIDES = {"label_candidates", "build_candidate_sets", "train_student", "choose_merge", "register_teacher",
                "merge_shards", "plan_work", "label_work"}
# The step each asset runs, by the name a bench calls it under (uae_core.pipeline's table).
ASSET_STEPS = {"candidate_sets": {"build_sticky"}, "utility_labels": {"plan_work", "label_work", "merge_shards"},
               "uae_encoder": {"distill"}, "faiss_index": {"build_retriever"}, "eval_report": {"compare"}}


def names_used(path) -> set[str]:
    tree = ast.parse(path.read_text())
    return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)} | {
        n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute)} | {
        a.asname or a.name for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) for a in n.names}


@pytest.mark.parametrize("name", BENCHES)
def test_every_bench_imports_as_a_module_of_the_package(name):
    importlib.import_module(f"bench.{name}")
    text = (REPO / "bench" / f"{name}.py").read_text()
    assert "sys.path" not in text and "noqa: E402" not in text


@pytest.mark.parametrize("name", BENCHES)
def test_no_bench_calls_the_insides_of_a_step(name):
    assert not names_used(REPO / "bench" / f"{name}.py") & STEP_INSIDES


@pytest.mark.parametrize("asset", sorted(ASSET_STEPS))
def test_each_asset_runs_its_step_function(asset):
    assert ASSET_STEPS[asset] <= names_used(REPO / "uae_assets" / "assets" / f"{asset}.py")
