"""Labeling in shards that run side by side: no two processes write one DuckDB file.

`label_pairs` is the whole step in one process (plan one shard, label it, merge): what the benchmarks
call; the utility_labels asset runs the same pieces as separate steps (plan_work, label_work per shard,
merge_shards).

A plan splits the candidate pairs into shards by a hash of the question id, so a question's pairs and its
no-context baseline stay in one shard, whatever the order or the machine. Each shard labels with the same
`label_candidates` as a serial run, into a `ShardSink`: what counts as done is what DuckDB held when the
run was planned (a `Snapshot`, read once by the planner) plus every pending chunk of the teacher, and new
labels go to Parquet chunk files, never to DuckDB:

    <root>/<teacher dir>/shard-<k>/part-<n>.parquet

A chunk is written under a temporary name and renamed, so a killed shard loses at most the chunk it was
writing, and a restarted shard (same or another shard count) labels only what no chunk and no DuckDB row
holds. `merge_shards`, the only DuckDB writer, inserts every pending chunk of the teacher in one
transaction (INSERT OR REPLACE: merging twice changes nothing) and then deletes the merged files. Where
chunks disagree on a key (a text was edited and the pair relabeled), the newest chunk wins, as it would in
DuckDB.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import time
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from uae_core.data import Passage, Query
from uae_core.labeling.candidates import CandidateSet
from uae_core.labeling.label_store import Label, LabelSet, LabelStore
from uae_core.labeling.labeler import LabelingStats, label_candidates
from uae_core.labeling.teacher import Scorer
from uae_core.progress import Progress

CHUNK_SCHEMA = pa.schema([
    ("teacher_id", pa.string()), ("kind", pa.string()),  # kind: "label" or "baseline" (passage_id null)
    ("query_id", pa.string()), ("passage_id", pa.string()), ("ll_with", pa.float64()), ("ll_without", pa.float64()),
    ("n_answer_tokens", pa.int32()), ("utility", pa.float64()), ("input_sha", pa.string())])
_PART = re.compile(r"part-(\d+)\.parquet")

Baselines = dict[str, tuple[float, int, str | None]]  # query_id -> (ll without context, answer tokens, input_sha)


def shard_of(query_id: str, n_shards: int) -> int:
    """The shard of a question: a stable hash (not Python's salted hash()), the same in every process."""
    return int.from_bytes(hashlib.sha1(query_id.encode()).digest()[:8], "big") % n_shards


def plan_shards(pairs: Sequence[tuple[str, str]], n_shards: int) -> list[list[tuple[str, str]]]:
    """(query_id, passage_id) pairs split into `n_shards` lists by question, each in the input order."""
    if n_shards < 1:
        raise ValueError(f"the number of shards must be at least 1, got {n_shards}")
    out: list[list[tuple[str, str]]] = [[] for _ in range(n_shards)]
    for pair in pairs:
        out[shard_of(pair[0], n_shards)].append(pair)
    return out


def shard_candidate_sets(candidate_sets: Sequence[CandidateSet], n_shards: int) -> list[list[CandidateSet]]:
    """The candidate sets of each shard (`plan_shards` of their pairs, as sets again)."""
    shards = plan_shards([(c.query_id, p) for c in candidate_sets for p in c.passage_ids], n_shards)
    out = []
    for pairs in shards:
        by_query: dict[str, list[str]] = {}
        for qid, pid in pairs:
            by_query.setdefault(qid, []).append(pid)
        out.append([CandidateSet(qid, tuple(pids)) for qid, pids in by_query.items()])
    # A set without passages still counts as a question of its shard (label_candidates counts queries).
    for c in candidate_sets:
        if not c.passage_ids:
            out[shard_of(c.query_id, n_shards)].append(c)
    return out


def chunks_beside(db_path: str | Path) -> Path:
    """The chunk root of a DuckDB label store: beside it (labels.duckdb -> labels.shards/), so that each store
    has its own (LabelStoreResource.chunks_root follows the same rule)."""
    db = Path(db_path)
    return db.with_name(f"{db.stem}.shards")


def teacher_dir(root: str | Path, teacher_id: str) -> Path:
    """A file-system-safe folder per teacher_id (readable, plus a hash: two ids never share a folder)."""
    slug = re.sub(r"[^A-Za-z0-9._-]+", "_", teacher_id).strip("_")[:80]
    return Path(root) / f"{slug}-{hashlib.sha1(teacher_id.encode()).hexdigest()[:10]}"


class ShardWriter:
    """Writes one shard's labels and baselines as Parquet chunks, each complete or absent."""

    def __init__(self, root: str | Path, teacher_id: str, shard: int):
        self.teacher_id = teacher_id
        self.folder = teacher_dir(root, teacher_id) / f"shard-{shard}"
        self.folder.mkdir(parents=True, exist_ok=True)
        numbers = [int(m.group(1)) for f in self.folder.iterdir() if (m := _PART.fullmatch(f.name))]
        self.next_part = max(numbers, default=-1) + 1  # a restarted shard never overwrites a chunk
        self.written: list[Path] = []

    def add_labels(self, labels: Iterable[Label]) -> None:
        self._write([{"kind": "label", "query_id": x.query_id, "passage_id": x.passage_id, "ll_with": x.ll_with,
                      "ll_without": x.ll_without, "n_answer_tokens": x.n_answer_tokens, "utility": x.utility,
                      "input_sha": x.input_sha} for x in labels])

    def add_baselines(self, rows: Iterable[tuple[str, float, int, str | None]]) -> None:
        self._write([{"kind": "baseline", "query_id": q, "passage_id": None, "ll_with": None, "ll_without": ll,
                      "n_answer_tokens": n, "utility": None, "input_sha": sha} for q, ll, n, sha in rows])

    def _write(self, rows: list[dict]) -> None:
        if not rows:
            return
        table = pa.Table.from_pylist([{"teacher_id": self.teacher_id, **r} for r in rows], schema=CHUNK_SCHEMA)
        path = self.folder / f"part-{self.next_part:06d}.parquet"
        temporary = self.folder / f".{path.name}.{os.getpid()}.tmp"
        pq.write_table(table, temporary)
        with open(temporary, "rb") as f:
            os.fsync(f.fileno())
        os.replace(temporary, path)  # atomic: readers see the whole chunk or none of it
        self.next_part += 1
        self.written.append(path)


def chunk_files(root: str | Path, teacher_id: str) -> list[Path]:
    """The teacher's pending chunks, oldest first (by modification time, then shard and part number)."""
    folder = teacher_dir(root, teacher_id)
    if not folder.is_dir():
        return []
    files = [f for f in folder.glob("shard-*/part-*.parquet") if _PART.fullmatch(f.name)]

    def age(f: Path) -> tuple:
        return f.stat().st_mtime_ns, f.parent.name, f.name
    return sorted(files, key=age)


@dataclass
class Pending:
    """What the teacher's chunk files hold, newest chunk winning on each key."""

    files: list[Path] = field(default_factory=list)
    labels: dict[tuple[str, str], Label] = field(default_factory=dict)
    baselines: Baselines = field(default_factory=dict)


def pending(root: str | Path, teacher_id: str) -> Pending:
    """Every chunk of `teacher_id` under `root` that is not merged into DuckDB yet."""
    out = Pending()
    for path in chunk_files(root, teacher_id):
        try:
            rows = pq.read_table(path, schema=CHUNK_SCHEMA).to_pylist()
        except FileNotFoundError:
            continue  # merged (deleted) since it was listed
        out.files.append(path)
        for r in rows:
            if r["teacher_id"] != teacher_id:
                continue
            if r["kind"] == "baseline":
                out.baselines[r["query_id"]] = (r["ll_without"], r["n_answer_tokens"], r["input_sha"])
            else:
                out.labels[(r["query_id"], r["passage_id"])] = Label(
                    r["query_id"], r["passage_id"], r["ll_with"], r["ll_without"], r["n_answer_tokens"],
                    r["input_sha"])
    return out


@dataclass(frozen=True)
class Snapshot:
    """What DuckDB held for one teacher when the run was planned (read once, by the planner)."""

    labeled: dict[tuple[str, str], str | None] = field(default_factory=dict)  # (query, passage) -> input_sha
    baselines: Baselines = field(default_factory=dict)

    @classmethod
    def read(cls, db_path: str | Path, teacher_id: str) -> Snapshot:
        """Read-only; a store that does not exist yet holds nothing."""
        if not Path(db_path).is_file():
            return cls()
        with LabelStore.open(db_path, read_only=True) as store:
            return cls(store.labeled_keys(teacher_id), store.baselines(teacher_id))

    def restrict(self, query_ids: Iterable[str]) -> Snapshot:
        """Only these questions' rows (what one shard needs to carry)."""
        wanted = set(query_ids)
        return Snapshot({k: v for k, v in self.labeled.items() if k[0] in wanted},
                        {q: v for q, v in self.baselines.items() if q in wanted})


class ShardSink:
    """`label_candidates`' sink for one shard: done = the snapshot plus the pending chunks (read when the
    shard starts), new labels and baselines = new chunks. It never opens DuckDB."""

    def __init__(self, writer: ShardWriter, snapshot: Snapshot, root: str | Path):
        self.writer, self.teacher_id = writer, writer.teacher_id
        chunks = pending(root, self.teacher_id)
        self._labeled = {**snapshot.labeled, **{k: x.input_sha for k, x in chunks.labels.items()}}
        self._baselines = {**snapshot.baselines, **chunks.baselines}
        self.pending_at_start = len(chunks.files)

    def _check(self, teacher_id: str) -> None:
        if teacher_id != self.teacher_id:
            raise ValueError(f"this shard labels for teacher {self.teacher_id!r}, not {teacher_id!r}")

    def labeled_keys(self, teacher_id: str) -> dict[tuple[str, str], str | None]:
        self._check(teacher_id)
        return dict(self._labeled)

    def baselines(self, teacher_id: str) -> Baselines:
        self._check(teacher_id)
        return dict(self._baselines)

    def add_labels(self, teacher_id: str, labels: Iterable[Label]) -> None:
        self._check(teacher_id)
        self.writer.add_labels(labels)

    def add_baselines(self, teacher_id: str, rows: Iterable[tuple[str, float, int, str | None]]) -> None:
        self._check(teacher_id)
        self.writer.add_baselines(rows)


@dataclass(frozen=True)
class ShardWork:
    """One shard's share of a labeling run: everything it needs, so it opens no store and loads no data."""

    index: int
    count: int
    teacher_id: str
    candidate_sets: list[CandidateSet]
    queries: dict[str, Query]
    passages: dict[str, Passage]
    snapshot: Snapshot
    chunk_pairs: int = 32

    @property
    def pairs(self) -> int:
        return sum(len(c.passage_ids) for c in self.candidate_sets)


def plan_work(teacher_id: str, candidate_sets: Sequence[CandidateSet], queries: dict[str, Query],
              passages: dict[str, Passage], snapshot: Snapshot, n_shards: int, chunk_pairs: int = 32
              ) -> list[ShardWork]:
    """The shards that have questions (at least one, so that a run always has a shard to report)."""
    split = shard_candidate_sets(candidate_sets, n_shards)
    work = []
    for k in [k for k, sets in enumerate(split) if sets] or [0]:
        sets = split[k]
        qids = {c.query_id for c in sets}
        pids = {p for c in sets for p in c.passage_ids}
        work.append(ShardWork(k, n_shards, teacher_id, sets, {q: queries[q] for q in qids},
                              {p: passages[p] for p in pids}, snapshot.restrict(qids), chunk_pairs))
    return work


def label_work(teacher: Scorer, root: str | Path, work: ShardWork, progress: Progress | None = None,
               show_progress: bool = False) -> LabelingStats:
    """Label one shard's missing pairs into its Parquet chunks (the serial labeling loop, another sink)."""
    if teacher.teacher_id != work.teacher_id:
        raise ValueError(f"the shard was planned for teacher {work.teacher_id!r}, not {teacher.teacher_id!r}")
    sink = ShardSink(ShardWriter(root, work.teacher_id, work.index), work.snapshot, root)
    return label_candidates(teacher, sink, work.candidate_sets, work.queries, work.passages, work.chunk_pairs,
                            progress=progress, show_progress=show_progress)


@dataclass(frozen=True)
class MergeResult:
    files: int
    labels: int
    baselines: int
    seconds: float


def merge_shards(store: LabelStore, root: str | Path, teacher_id: str) -> MergeResult:
    """Insert every pending chunk of `teacher_id` into the store in one transaction, then delete the chunks
    (and leftovers of chunks a crash cut short). Idempotent: a crash between the commit and the deletion
    leaves chunks whose rows are already stored; the next merge writes the same rows again."""
    started = time.perf_counter()
    chunks = pending(root, teacher_id)
    baselines = pa.Table.from_pylist(
        [{"teacher_id": teacher_id, "query_id": q, "ll_without": ll, "n_answer_tokens": n, "input_sha": sha}
         for q, (ll, n, sha) in chunks.baselines.items()],
        schema=pa.schema([("teacher_id", pa.string()), ("query_id", pa.string()), ("ll_without", pa.float64()),
                          ("n_answer_tokens", pa.int32()), ("input_sha", pa.string())]))
    labels = pa.Table.from_pylist(
        [{"teacher_id": teacher_id, "query_id": x.query_id, "passage_id": x.passage_id, "ll_with": x.ll_with,
          "ll_without": x.ll_without, "n_answer_tokens": x.n_answer_tokens, "utility": x.utility,
          "input_sha": x.input_sha} for x in chunks.labels.values()],
        schema=CHUNK_SCHEMA.remove(CHUNK_SCHEMA.get_field_index("kind")))
    store.add_tables(baselines, labels)
    folder = teacher_dir(root, teacher_id)
    for path in chunks.files:
        path.unlink(missing_ok=True)
    if folder.is_dir():
        for leftover in folder.glob("shard-*/.part-*.tmp"):
            leftover.unlink(missing_ok=True)
        for empty in [*folder.glob("shard-*"), folder]:
            with contextlib.suppress(OSError):  # only if empty
                empty.rmdir()
    return MergeResult(len(chunks.files), labels.num_rows, baselines.num_rows, time.perf_counter() - started)


def candidate_utilities(utilities: dict[str, dict[str, float]], candidate_sets: Sequence[CandidateSet]
                        ) -> dict[str, dict[str, float]]:
    """The stored utilities restricted to the candidate sets' pairs (a question's store rows can hold
    passages of an earlier set): what a LabelSet carries."""
    wanted = {c.query_id: set(c.passage_ids) for c in candidate_sets}
    return {q: {p: u for p, u in per_q.items() if p in wanted[q]} for q, per_q in utilities.items() if q in wanted}


def label_pairs(teacher: Scorer, db_path: str | Path, chunks_root: str | Path,
                candidate_sets: Sequence[CandidateSet], queries: dict[str, Query], passages: dict[str, Passage],
                chunk_pairs: int = 32, progress: Progress | None = None, show_progress: bool = False
                ) -> tuple[LabelSet, LabelingStats]:
    """The labeling step in one process, as the utility_labels asset runs it with one shard: read what the
    store holds (Snapshot.read), plan one shard (plan_work), label its missing pairs into Parquet chunks
    (label_work), store them (merge_shards, registering the teacher) and read the candidates' utilities back.
    A killed run resumes from its chunks; nothing is labeled twice. (the LabelSet, the labeling stats)"""
    snapshot = Snapshot.read(db_path, teacher.teacher_id)
    stats = LabelingStats.combine(
        label_work(teacher, chunks_root, work, progress=progress, show_progress=show_progress)
        for work in plan_work(teacher.teacher_id, candidate_sets, queries, passages, snapshot, 1, chunk_pairs))
    with LabelStore.open(db_path) as store:
        store.register_teacher(teacher.teacher_id, teacher_config_json(teacher))
        merge_shards(store, chunks_root, teacher.teacher_id)
        utilities = store.utilities(teacher.teacher_id, tuple(c.query_id for c in candidate_sets))
    return LabelSet(teacher.teacher_id, str(db_path), candidate_utilities(utilities, candidate_sets)), stats


def teacher_config_json(teacher: Scorer) -> str:
    """The teacher's config as the label store registers it (TeacherResource.config_json's form)."""
    return json.dumps(asdict(teacher.config), sort_keys=True)
