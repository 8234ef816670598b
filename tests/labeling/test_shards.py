"""Sharded labeling against real DuckDB and Parquet files and a tiny real teacher: two shards, merged, store
exactly the rows a serial run stores; a shard killed mid-way keeps its committed chunks and its restart
labels only the missing pairs; the merge is idempotent and removes what it merged.

The teacher scores one request per forward pass here (batch_size=1): a batched forward pass pads to the
longest request of its batch, and which requests share a batch depends on how the work is chunked (also in
a serial run that resumes after a crash), which can move a log-likelihood by ~1e-6. With batch_size=1 the
floats must be equal; the last test bounds the difference at the default batch size.
"""

import dataclasses
import shutil

import pytest

from tests.labeling.test_labeler import CrashingTeacher
from uae_core.data import Passage, Query
from uae_core.labeling.candidates import CandidateSet
from uae_core.labeling.label_store import LabelStore
from uae_core.labeling.labeler import LabelingStats, label_candidates
from uae_core.labeling.shards import (
    Snapshot,
    chunk_files,
    label_work,
    merge_shards,
    pending,
    plan_shards,
    plan_work,
    shard_of,
)
from uae_core.labeling.teacher import TeacherConfig, load_teacher

PASSAGES = {f"p{i}": Passage(f"p{i}", "paper", "s", f"Paragraph {i} talks about topic {i % 5} in {i} ways.")
            for i in range(12)}
QUERIES = {f"q{i}": Query(f"q{i}", "paper", f"What about topic {i}?", (f"topic {i}",), ("",), (), "train")
           for i in range(10)}
SETS = [CandidateSet(q, tuple(f"p{(2 * i + j) % 12}" for j in range(3))) for i, q in enumerate(QUERIES)]
TOTAL = sum(len(s.passage_ids) for s in SETS)
COLUMNS = "teacher_id, query_id, passage_id, ll_with, ll_without, n_answer_tokens, utility, input_sha"


@pytest.fixture(scope="module")
def teacher(tiny_teacher_dir):
    return load_teacher(TeacherConfig(model=str(tiny_teacher_dir), batch_size=1), cache_dir="unused")


def rows(db) -> tuple[list[tuple], list[tuple]]:
    with LabelStore.open(db, read_only=True) as store:
        labels = store.con.execute(f"SELECT {COLUMNS} FROM utility_labels ORDER BY query_id, passage_id").fetchall()
        baselines = store.con.execute("SELECT teacher_id, query_id, ll_without, n_answer_tokens, input_sha "
                                      "FROM answer_baselines ORDER BY query_id").fetchall()
    return labels, baselines


def questions_of_first_pairs(sets, n: int) -> set[str]:
    """The questions of the first n pairs: a baseline is committed in the chunk of its question's first pair."""
    return {q for q, _ in [(c.query_id, p) for c in sets for p in c.passage_ids][:n]}


def serial(tmp_path, teacher, passages=PASSAGES):
    db = tmp_path / "serial.duckdb"
    with LabelStore.open(db) as store:
        label_candidates(teacher, store, SETS, QUERIES, passages, chunk_pairs=4, show_progress=False)
    return rows(db)


def sharded(teacher, db, root, n, passages=PASSAGES, chunk_pairs=4):
    """Plan against the store, label each shard into Parquet, merge: what the Dagster graph does."""
    work = plan_work(teacher.teacher_id, SETS, QUERIES, passages, Snapshot.read(db, teacher.teacher_id), n,
                     chunk_pairs)
    stats = LabelingStats.combine(label_work(teacher, root, w) for w in work)
    with LabelStore.open(db) as store:
        merged = merge_shards(store, root, teacher.teacher_id)
    return stats, merged


def test_the_plan_keeps_each_question_in_one_shard_and_is_deterministic():
    pairs = [(c.query_id, p) for c in SETS for p in c.passage_ids]
    shards = plan_shards(pairs, 2)
    assert shards == plan_shards(list(pairs), 2)
    assert sorted(p for s in shards for p in s) == sorted(pairs) and all(shards)
    for k, shard in enumerate(shards):
        assert all(shard_of(q, 2) == k for q, _ in shard)
        assert shard == [p for p in pairs if p in shard]  # input order kept
    assert shard_of("q0", 2) == 1 and shard_of("q1", 2) == 0  # stable across processes and Python runs
    assert plan_shards(pairs, 1) == [pairs]
    with pytest.raises(ValueError):
        plan_shards(pairs, 0)


def test_two_shards_store_exactly_the_serial_labels(tmp_path, teacher):
    expected = serial(tmp_path, teacher)
    db, root = tmp_path / "sharded.duckdb", tmp_path / "chunks"
    stats, merged = sharded(teacher, db, root, 2)
    assert stats.pairs_labeled_now == TOTAL and stats.baselines_labeled_now == len(SETS)
    assert stats.pairs_total == TOTAL and stats.queries == len(SETS) and stats.teacher_requests == TOTAL + len(SETS)
    assert merged.labels == TOTAL and merged.baselines == len(SETS) and merged.files > 2
    assert rows(db) == expected  # every column, floats equal
    assert len(expected[0]) == TOTAL and chunk_files(root, teacher.teacher_id) == []

    # Nothing missing: a second sharded run asks the teacher nothing and writes no chunk.
    counting = CrashingTeacher(teacher, crash_on_call=0)
    stats, merged = sharded(counting, db, root, 2)
    assert counting.calls == 0 and stats.pairs_reused == TOTAL and merged.files == 0
    assert rows(db) == expected


def test_a_killed_shard_resumes_without_relabeling(tmp_path, teacher):
    expected = serial(tmp_path, teacher)
    db, root = tmp_path / "sharded.duckdb", tmp_path / "chunks"
    work = plan_work(teacher.teacher_id, SETS, QUERIES, PASSAGES, Snapshot.read(db, teacher.teacher_id), 2, 4)
    assert [w.index for w in work] == [0, 1] and sum(w.pairs for w in work) == TOTAL
    first, second = work
    # Shard 0 (5 questions) dies on its 2nd teacher call: after one chunk of 4 pairs and their baselines.
    with pytest.raises(KeyboardInterrupt):
        label_work(CrashingTeacher(teacher, crash_on_call=2), root, first)
    # Shard 1 runs to the end beside it.
    label_work(teacher, root, second)
    committed = pending(root, teacher.teacher_id)
    done_in_first = sum(q in first.queries for q, _ in committed.labels)
    assert done_in_first == 4 and len(committed.labels) == 4 + second.pairs
    scored = questions_of_first_pairs(first.candidate_sets, 4)
    assert scored <= set(committed.baselines) and set(first.queries) - scored

    # The restarted shard labels only its missing pairs and baselines, none again.
    resumed = CrashingTeacher(teacher, crash_on_call=0)
    stats = label_work(resumed, root, first)
    assert stats.baselines_labeled_now == len(first.queries) - len(scored)
    assert resumed.requests == first.pairs - done_in_first + stats.baselines_labeled_now
    assert stats.pairs_reused == done_in_first and stats.pairs_labeled_now == first.pairs - done_in_first
    with LabelStore.open(db) as store:
        merge_shards(store, root, teacher.teacher_id)
    assert rows(db) == expected


def test_a_rerun_with_another_shard_count_reuses_every_pending_chunk(tmp_path, teacher):
    db, root = tmp_path / "sharded.duckdb", tmp_path / "chunks"
    first, _ = plan_work(teacher.teacher_id, SETS, QUERIES, PASSAGES, Snapshot(), 2, 4)
    with pytest.raises(KeyboardInterrupt):
        label_work(CrashingTeacher(teacher, crash_on_call=3), root, first)  # 2 chunks, killed on the 3rd
    kept = len(pending(root, teacher.teacher_id).labels)
    assert kept == 8
    counting = CrashingTeacher(teacher, crash_on_call=0)
    stats, merged = sharded(counting, db, root, 3)  # the whole run again, in 3 shards
    assert counting.requests == (TOTAL - kept) + (len(SETS) - len(questions_of_first_pairs(first.candidate_sets, 8)))
    assert stats.pairs_reused == kept and stats.pairs_labeled_now == TOTAL - kept
    assert merged.labels == TOTAL
    assert rows(db) == serial(tmp_path, teacher)


def test_merge_is_idempotent_and_deletes_what_it_merged(tmp_path, teacher):
    db, root = tmp_path / "sharded.duckdb", tmp_path / "chunks"
    for w in plan_work(teacher.teacher_id, SETS, QUERIES, PASSAGES, Snapshot(), 2, 4):
        label_work(teacher, root, w)
    files = chunk_files(root, teacher.teacher_id)
    backup = tmp_path / "backup"
    shutil.copytree(root, backup)
    (files[0].parent / ".part-000099.parquet.1234.tmp").write_bytes(b"half a chunk")  # a write a crash cut short
    with LabelStore.open(db) as store:
        merged = merge_shards(store, root, teacher.teacher_id)
    assert merged.files == len(files) and not any(root.rglob("*"))
    after_first = rows(db)
    assert len(after_first[0]) == TOTAL

    # A crash between the commit and the deletion: the same chunks are merged again, nothing changes.
    shutil.copytree(backup, root, dirs_exist_ok=True)
    with LabelStore.open(db) as store:
        again = merge_shards(store, root, teacher.teacher_id)
        assert store.count(teacher.teacher_id) == TOTAL
    assert again.labels == TOTAL and rows(db) == after_first and chunk_files(root, teacher.teacher_id) == []
    with LabelStore.open(db) as store:
        assert merge_shards(store, root, teacher.teacher_id).files == 0
    assert rows(db) == after_first


def test_an_edited_paragraph_relabeled_in_a_newer_chunk_wins(tmp_path, teacher):
    db, root = tmp_path / "sharded.duckdb", tmp_path / "chunks"
    for w in plan_work(teacher.teacher_id, SETS, QUERIES, PASSAGES, Snapshot(), 2, 4):
        label_work(teacher, root, w)  # not merged yet
    edited = {**PASSAGES, "p4": dataclasses.replace(PASSAGES["p4"], text="A rewritten paragraph about topic 4.")}
    stats, _ = sharded(teacher, db, root, 2, passages=edited)
    uses_p4 = sum("p4" in s.passage_ids for s in SETS)
    assert stats.pairs_labeled_now == uses_p4 > 0 and stats.pairs_reused == TOTAL - uses_p4
    assert rows(db) == serial(tmp_path, teacher, passages=edited)


def test_at_the_default_batch_size_shards_differ_from_serial_only_by_batching_noise(tmp_path, tiny_teacher_dir):
    batched = load_teacher(TeacherConfig(model=str(tiny_teacher_dir)), cache_dir="unused")
    expected = serial(tmp_path, batched)
    db = tmp_path / "sharded.duckdb"
    sharded(batched, db, tmp_path / "chunks", 2)
    got = rows(db)
    for mine, theirs in zip(got[0], expected[0], strict=True):
        assert mine[:3] == theirs[:3] and mine[5] == theirs[5] and mine[7] == theirs[7]  # keys, tokens, sha
        assert mine[3:5] == pytest.approx(theirs[3:5], abs=1e-5) and mine[6] == pytest.approx(theirs[6], abs=1e-5)
    assert [r[:2] for r in got[1]] == [r[:2] for r in expected[1]]
