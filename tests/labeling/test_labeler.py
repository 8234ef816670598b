"""Utility labels in a real DuckDB file: chunked commits, resume after a crash, relabel on a new teacher."""

import dataclasses

import pytest

from uae_core.data import Passage, Query
from uae_core.labeling.candidates import CandidateSet
from uae_core.labeling.label_store import LabelStore
from uae_core.labeling.labeler import label_candidates
from uae_core.labeling.teacher import Teacher, TeacherConfig, load_teacher

PASSAGES = {f"p{i}": Passage(f"p{i}", "paper", "s", f"Paragraph {i} talks about topic {i % 3}.") for i in range(6)}
QUERIES = {f"q{i}": Query(f"q{i}", "paper", f"What about topic {i}?", (f"topic {i}", "alt"), ("", ""), (),
                          "train") for i in range(4)}
SETS = [CandidateSet(q, tuple(f"p{(i + j) % 6}" for j in range(3))) for i, q in enumerate(QUERIES)]
TOTAL = sum(len(s.passage_ids) for s in SETS)


class CrashingTeacher:
    """The real teacher, but the process 'dies' on the n-th scoring call."""

    def __init__(self, teacher: Teacher, crash_on_call: int):
        self.teacher, self.crash_on_call, self.calls, self.requests = teacher, crash_on_call, 0, 0
        self.teacher_id, self.config = teacher.teacher_id, teacher.config

    def load(self):
        self.teacher.load()

    def score(self, requests):
        self.calls += 1
        if self.calls == self.crash_on_call:
            raise KeyboardInterrupt("killed")
        self.requests += len(requests)
        return self.teacher.score(requests)


@pytest.fixture(scope="module")
def teacher(tiny_teacher_dir):
    return load_teacher(TeacherConfig(model=str(tiny_teacher_dir)), cache_dir="unused")


def test_interrupted_labeling_resumes_and_computes_only_missing(tmp_path, teacher):
    db = tmp_path / "labels.duckdb"
    crashing = CrashingTeacher(teacher, crash_on_call=2)  # one chunk (4 pairs, 2 questions' baselines), killed
    with LabelStore.open(db) as store, pytest.raises(KeyboardInterrupt):
        label_candidates(crashing, store, SETS, QUERIES, PASSAGES, chunk_pairs=4, show_progress=False)
    with LabelStore.open(db) as store:
        stored = store.count(teacher.teacher_id)
    assert stored == 4  # the committed chunk survived the crash

    resumed = CrashingTeacher(teacher, crash_on_call=0)
    with LabelStore.open(db) as store:
        stats = label_candidates(resumed, store, SETS, QUERIES, PASSAGES, chunk_pairs=4, show_progress=False)
        assert store.count(teacher.teacher_id) == TOTAL
        utilities = store.utilities(teacher.teacher_id)
    assert stats.pairs_reused == stored and stats.pairs_labeled_now == TOTAL - stored
    # A question's baseline is committed with the chunk of its first pair: q0's and q1's survived the crash,
    # q2's and q3's come with the resumed chunks.
    assert stats.baselines_labeled_now == 2
    assert resumed.requests == TOTAL - stored + 2  # answer_policy "first": one request per pair or baseline
    assert sum(len(v) for v in utilities.values()) == TOTAL

    again = CrashingTeacher(teacher, crash_on_call=0)
    with LabelStore.open(db) as store:
        stats = label_candidates(again, store, SETS, QUERIES, PASSAGES, show_progress=False)
    assert again.calls == 0 and stats.pairs_labeled_now == 0 and stats.pairs_reused == TOTAL


def test_utility_is_ll_with_minus_ll_without(tmp_path, teacher):
    with LabelStore.open(tmp_path / "l.duckdb") as store:
        label_candidates(teacher, store, SETS[:1], QUERIES, PASSAGES, show_progress=False)
        rows = store.con.execute("SELECT query_id, passage_id, ll_with, ll_without, utility FROM utility_labels"
                                 ).fetchall()
    from uae_core.labeling.teacher import ScoreRequest
    q = QUERIES["q0"]
    (ll_without, _), = teacher.score([ScoreRequest("answer", q.question, q.answers[0])])
    for _qid, pid, ll_with, stored_without, utility in rows:
        (expected_with, _), = teacher.score([ScoreRequest("answer", q.question, q.answers[0], PASSAGES[pid].text)])
        assert ll_with == pytest.approx(expected_with, abs=1e-5)
        assert stored_without == pytest.approx(ll_without, abs=1e-5)
        assert utility == pytest.approx(ll_with - ll_without)


def test_new_teacher_config_relabels_and_keeps_old_labels(tmp_path, tiny_teacher_dir, teacher):
    db = tmp_path / "labels.duckdb"
    with LabelStore.open(db) as store:
        label_candidates(teacher, store, SETS, QUERIES, PASSAGES, show_progress=False)
    other = load_teacher(TeacherConfig(model=str(tiny_teacher_dir), answer_policy="average"), cache_dir="unused")
    assert other.teacher_id != teacher.teacher_id
    with LabelStore.open(db) as store:
        stats = label_candidates(other, store, SETS, QUERIES, PASSAGES, show_progress=False)
        assert store.count(teacher.teacher_id) == TOTAL and store.count(other.teacher_id) == TOTAL
    assert stats.pairs_labeled_now == TOTAL and stats.teacher_requests == 2 * (TOTAL + len(SETS))


def test_an_edited_paragraph_is_relabeled_under_its_old_id(tmp_path, teacher):
    db = tmp_path / "labels.duckdb"
    with LabelStore.open(db) as store:
        label_candidates(teacher, store, SETS, QUERIES, PASSAGES, show_progress=False)
    edited = {**PASSAGES, "p2": dataclasses.replace(PASSAGES["p2"], text="A rewritten paragraph about topic 2.")}
    uses_p2 = sum("p2" in s.passage_ids for s in SETS)
    with LabelStore.open(db) as store:
        stats = label_candidates(teacher, store, SETS, QUERIES, edited, show_progress=False)
        assert store.count(teacher.teacher_id) == TOTAL  # replaced, not duplicated
    assert stats.pairs_labeled_now == uses_p2 > 0 and stats.pairs_reused == TOTAL - uses_p2
    assert stats.baselines_labeled_now == 0  # questions and answers did not change


def test_progress_says_what_happens_before_the_first_pair(tmp_path, teacher):
    """Lines say what comes before the first counted pair (the teacher's load), and the first counted line
    comes after one small teacher call: each question's baseline is scored with its first pair's chunk (not
    all of them before the first pair), and the first chunk is at most FIRST_CHUNK_PAIRS pairs."""
    from uae_core.labeling.labeler import FIRST_CHUNK_PAIRS
    from uae_core.progress import Progress

    lines, counting = [], CrashingTeacher(teacher, crash_on_call=0)
    with LabelStore.open(tmp_path / "labels.duckdb") as store:
        label_candidates(counting, store, SETS, QUERIES, PASSAGES, chunk_pairs=FIRST_CHUNK_PAIRS + 1,
                         show_progress=False,
                         progress=Progress("utility labels", lambda line: lines.append((line, counting.calls)),
                                           every_seconds=0))
    assert lines[:3] == [
        (f"utility labels: {TOTAL} pairs to label (0 stored) and {len(SETS)} questions to score without a passage",
         0), ("utility labels: loading the teacher", 0),
        (f"utility labels: {FIRST_CHUNK_PAIRS}/{TOTAL} ({FIRST_CHUNK_PAIRS / TOTAL:.0%}), started", 1)]
    assert counting.calls == 2 and counting.requests == TOTAL + len(SETS)  # 8 pairs, then the other 4
    assert lines[-1][0].endswith(", done")
