"""The run's estimate follows the domain's sizes and the run config, and the clock rescales what is left
by how the finished steps compared with their estimates."""

from uae_assets import run_estimate
from uae_assets.run_estimate import RunClock, StepEstimate, estimate_run
from uae_core.data.schema import Corpus, LoadReport, Passage, Query


def _corpus(passages: int, train: int) -> Corpus:
    ps = [Passage(f"p{i}", f"doc{i // 10}", "", "word " * 100) for i in range(passages)]
    qs = [Query(f"q{i}", "doc0", "what?", ("yes",), (), (f"p{i}",), split) for i, split in
          enumerate(["train"] * train + ["dev", "test"])]
    return Corpus(ps, qs, LoadReport())


def _seconds(estimates, asset):
    return next(e.seconds for e in estimates if e.asset == asset)


def test_estimate_scales_with_questions_k_budget_and_corpus():
    corpus = _corpus(1000, 600)
    default = estimate_run(corpus, {})
    assert "800 teacher pairs + 400 baselines" in next(e.what for e in default if e.asset == "utility_labels")
    more = estimate_run(corpus, {"ops": {"candidate_sets": {"config": {"max_train_queries": 0, "k": 4}}}})
    assert "2400 teacher pairs + 600 baselines" in next(e.what for e in more if e.asset == "utility_labels")
    assert _seconds(more, "utility_labels") > 2.5 * _seconds(default, "utility_labels") - 100
    budget = estimate_run(corpus, {"ops": {"candidate_sets": {"config": {"label_budget": 100}}}})
    assert "100 teacher pairs + 50 baselines" in next(e.what for e in budget if e.asset == "utility_labels")
    bigger = estimate_run(_corpus(4000, 600), {})
    assert _seconds(bigger, "candidate_sets") > _seconds(default, "candidate_sets")
    no_dense = estimate_run(corpus, {"ops": {"candidate_sets": {"config": {"sources": ["bm25"]}}}})
    assert _seconds(no_dense, "candidate_sets") == run_estimate.STEP_OVERHEAD_S["candidate_sets"]
    longer = estimate_run(corpus, {"ops": {"uae_encoder": {"config": {"epochs": 4}}}})
    assert "200 training steps" in next(e.what for e in longer if e.asset == "uae_encoder")


def test_merge_shares_cost_a_corpus_encode_each_unless_a_pool_pays():
    """Few dev questions on a large corpus: the shares are scored on a pool (evaluation.screen), one corpus
    encode for the kept one; many dev questions: a corpus encode a share, as before."""
    few = estimate_run(_corpus(4000, 600), {})  # 1 dev question: a pool of ~13 passages
    assert "1 corpus encode + 2 on ~13 pooled passages" in next(e.what for e in few if e.asset == "uae_encoder")
    many = _corpus(4000, 600)
    many = Corpus(many.passages, many.queries + [Query(f"d{i}", "doc1", "what?", ("yes",), (), (f"p{i}",), "dev")
                                                 for i in range(400)], LoadReport())
    whole = estimate_run(many, {})
    assert "training steps, 2 corpus encodes" in next(e.what for e in whole if e.asset == "uae_encoder")
    one_share = estimate_run(many, {"ops": {"uae_encoder": {"config": {"merge_shares": [0.0]}}}})
    assert _seconds(whole, "uae_encoder") > _seconds(few, "uae_encoder") > _seconds(one_share, "uae_encoder")


class Clock:
    now = 0.0

    def __call__(self):
        return self.now


def test_clock_gives_the_time_left_scaled_by_the_finished_steps(monkeypatch):
    clock = Clock()
    monkeypatch.setattr(run_estimate.time, "monotonic", clock)
    run = RunClock([StepEstimate("candidate_sets", 100, ""), StepEstimate("utility_labels", 200, ""),
                    StepEstimate("uae_encoder", 300, "")])
    run.started("candidate_sets")
    clock.now = 200  # twice its estimate: the machine is busy
    assert run.done("candidate_sets") == "run: 3m20s so far, ~16m40s left (finished steps took 2.0x their estimate)"
    run.started("utility_labels")
    clock.now = 400
    line = run.done("utility_labels")  # 400 s for 300 s estimated: 4/3 x the 300 s left
    assert line.endswith("~6m40s left (finished steps took 1.3x their estimate)")
    run.started("uae_encoder")
    clock.now = 500
    assert run.done("uae_encoder") is None  # nothing left
    assert run.done("faiss_index") is None  # not estimated
    quick = RunClock([StepEstimate("queries", 3, ""), StepEstimate("uae_encoder", 300, "")])
    quick.started("corpus")  # the multi-asset step that materializes passages and queries
    clock.now += 2
    assert quick.done("queries", "corpus") is None and quick.finished == {"queries": 2.0}  # counted, not printed


def test_a_selection_only_counts_the_selected_assets():
    run = RunClock([StepEstimate("candidate_sets", 100, ""), StepEstimate("uae_encoder", 300, "")],
                   selected=["uae_encoder"])
    assert list(run.estimates) == ["uae_encoder"]
