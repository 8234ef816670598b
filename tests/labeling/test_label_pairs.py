"""label_pairs, the labeling step in one process (what the benchmarks call): the utility_labels asset's plan,
label and merge pieces in a row. It stores exactly the rows a serial label_candidates run stores, returns the
candidates' utilities as a LabelSet, registers the teacher, resumes a killed run from its chunks and labels
nothing twice. (A tiny real teacher at batch_size=1, as in test_shards.py: floats must be equal.)"""

import json

import pytest

from tests.labeling.test_labeler import CrashingTeacher
from tests.labeling.test_shards import PASSAGES, QUERIES, SETS, TOTAL, questions_of_first_pairs, rows, serial
from uae_core.labeling.candidates import CandidateSet
from uae_core.labeling.label_store import LabelStore
from uae_core.labeling.shards import candidate_utilities, chunk_files, chunks_beside, label_pairs
from uae_core.labeling.teacher import TeacherConfig, load_teacher


@pytest.fixture(scope="module")
def teacher(tiny_teacher_dir):
    return load_teacher(TeacherConfig(model=str(tiny_teacher_dir), batch_size=1), cache_dir="unused")


def test_label_pairs_stores_what_a_serial_run_stores_and_returns_the_candidates_utilities(tmp_path, teacher):
    expected = serial(tmp_path, teacher)
    db = tmp_path / "labels.duckdb"
    labels, stats = label_pairs(teacher, db, chunks_beside(db), SETS, QUERIES, PASSAGES, chunk_pairs=4)
    assert rows(db) == expected
    assert stats.pairs_total == TOTAL and stats.pairs_labeled_now == TOTAL and stats.queries == len(SETS)
    assert labels.teacher_id == teacher.teacher_id and labels.db_path == str(db)
    assert {q: set(u) for q, u in labels.utilities.items()} == {s.query_id: set(s.passage_ids) for s in SETS}
    with LabelStore.open(db, read_only=True) as store:
        assert labels.utilities == store.utilities(teacher.teacher_id, [s.query_id for s in SETS])
        registered = store.con.execute("SELECT config FROM teachers WHERE teacher_id = ?",
                                       [teacher.teacher_id]).fetchone()
    assert json.loads(registered[0])["model"] == teacher.config.model
    assert not chunks_beside(db).exists() or chunk_files(chunks_beside(db), teacher.teacher_id) == []


def test_label_pairs_resumes_a_killed_run_and_labels_nothing_twice(tmp_path, teacher):
    db, root = tmp_path / "labels.duckdb", tmp_path / "chunks"
    crashing = CrashingTeacher(teacher, crash_on_call=3)  # 2 chunks of 4 pairs (and their baselines), killed
    with pytest.raises(KeyboardInterrupt):
        label_pairs(crashing, db, root, SETS, QUERIES, PASSAGES, chunk_pairs=4)
    assert chunk_files(root, teacher.teacher_id)  # what it committed waits in Parquet chunks
    resumed = CrashingTeacher(teacher, crash_on_call=0)
    _, stats = label_pairs(resumed, db, root, SETS, QUERIES, PASSAGES, chunk_pairs=4)
    assert stats.baselines_labeled_now == len(SETS) - len(questions_of_first_pairs(SETS, 8))
    assert stats.pairs_reused == 8 and stats.pairs_labeled_now == TOTAL - 8
    assert resumed.requests == stats.pairs_labeled_now + stats.baselines_labeled_now
    assert rows(db) == serial(tmp_path, teacher)
    again = CrashingTeacher(teacher, crash_on_call=0)
    labels, stats = label_pairs(again, db, root, SETS, QUERIES, PASSAGES, chunk_pairs=4)
    assert again.calls == 0 and stats.pairs_reused == TOTAL and len(labels.utilities) == len(SETS)


def test_candidate_utilities_keep_only_the_sets_pairs():
    stored = {"q0": {"p0": 0.1, "p1": 0.2, "p9": 0.3}, "q1": {"p2": 0.4}, "q7": {"p0": 0.5}}
    sets = [CandidateSet("q0", ("p0", "p1")), CandidateSet("q1", ("p2",))]
    assert candidate_utilities(stored, sets) == {"q0": {"p0": 0.1, "p1": 0.2}, "q1": {"p2": 0.4}}
