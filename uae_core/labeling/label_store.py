"""Utility labels in DuckDB, keyed by (teacher_id, query_id, passage_id).

Labels are expensive (a teacher forward pass each), so they are written in small committed chunks as they
are computed, and every run first asks which keys are missing: a killed run resumes where it stopped, an
unchanged re-run asks the teacher nothing, and a new teacher_id relabels without touching the old labels.
DuckDB allows one writing process per file: open the store from one process at a time. Labeling that runs
in several processes writes Parquet chunks instead and merges them here (labeling/shards.py).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import duckdb

SCHEMA = """
CREATE TABLE IF NOT EXISTS teachers (
    teacher_id VARCHAR PRIMARY KEY, config JSON, registered_at TIMESTAMP DEFAULT current_timestamp);
CREATE TABLE IF NOT EXISTS answer_baselines (
    teacher_id VARCHAR, query_id VARCHAR, ll_without DOUBLE, n_answer_tokens INTEGER,
    labeled_at TIMESTAMP DEFAULT current_timestamp, PRIMARY KEY (teacher_id, query_id));
CREATE TABLE IF NOT EXISTS utility_labels (
    teacher_id VARCHAR, query_id VARCHAR, passage_id VARCHAR, ll_with DOUBLE, ll_without DOUBLE,
    n_answer_tokens INTEGER, utility DOUBLE, labeled_at TIMESTAMP DEFAULT current_timestamp,
    PRIMARY KEY (teacher_id, query_id, passage_id));
-- input_sha: hash of the texts the teacher saw (question, answer, passage). A key whose texts changed
-- (an edited paragraph keeps its position-based id) is relabeled.
ALTER TABLE answer_baselines ADD COLUMN IF NOT EXISTS input_sha VARCHAR;
ALTER TABLE utility_labels ADD COLUMN IF NOT EXISTS input_sha VARCHAR;
"""
BASELINE_COLUMNS = "teacher_id, query_id, ll_without, n_answer_tokens, input_sha"
LABEL_COLUMNS = "teacher_id, query_id, passage_id, ll_with, ll_without, n_answer_tokens, utility, input_sha"


@dataclass(frozen=True)
class LabelSet:
    """The labels a training reads: one teacher's utilities for the candidate pairs, carried as the asset's
    value, so that training never opens the DuckDB file while labeling may be writing it."""

    teacher_id: str
    db_path: str
    utilities: dict[str, dict[str, float]]  # query_id -> {passage_id: utility}
    policy: str = "all"  # the selection policy that chose the pairs (uae_core/labeling/selection.py)


@dataclass(frozen=True)
class Label:
    query_id: str
    passage_id: str
    ll_with: float
    ll_without: float
    n_answer_tokens: int
    input_sha: str | None = None

    @property
    def utility(self) -> float:
        return self.ll_with - self.ll_without


class LabelStoreError(ValueError):
    """The labels file cannot be opened; the message names it and what to do."""


def unreadable(path: Path, exc: Exception) -> str:
    """One line: the file, DuckDB's reason, and the fix (a lock held by another process, or a broken file)."""
    reason = " ".join(str(exc).split())
    if "lock" in reason.lower():
        return (f"{path}: the labels file is open in another process ({reason}); wait for the run that uses it to "
                "end, or stop it")
    return (f"{path}: not a readable DuckDB labels file ({reason}); move it aside (mv {path} {path}.broken) and "
            "run again: the teacher labels the candidate sets anew (or restore the file from a backup)")


class LabelStore:
    def __init__(self, connection: duckdb.DuckDBPyConnection, create_schema: bool = True):
        self.con = connection
        if create_schema:
            self.con.execute(SCHEMA)

    @classmethod
    @contextmanager
    def open(cls, path: str | Path, read_only: bool = False) -> Iterator[LabelStore]:
        path = Path(path)
        if not read_only:
            path.parent.mkdir(parents=True, exist_ok=True)
        try:
            con = duckdb.connect(str(path), read_only=read_only)
        except duckdb.Error as exc:
            raise LabelStoreError(unreadable(path, exc)) from None
        try:
            yield cls(con, create_schema=not read_only)
        finally:
            con.close()

    def register_teacher(self, teacher_id: str, config_json: str) -> None:
        self.con.execute("INSERT OR IGNORE INTO teachers (teacher_id, config) VALUES (?, ?)",
                         [teacher_id, config_json])

    def baselines(self, teacher_id: str) -> dict[str, tuple[float, int, str | None]]:
        """query_id -> (ll without context, answer tokens, input_sha)."""
        rows = self.con.execute("SELECT query_id, ll_without, n_answer_tokens, input_sha FROM answer_baselines "
                                "WHERE teacher_id = ?", [teacher_id]).fetchall()
        return {q: (ll, n, sha) for q, ll, n, sha in rows}

    def add_baselines(self, teacher_id: str, rows: Iterable[tuple[str, float, int, str | None]]) -> None:
        self._insert("INSERT OR REPLACE INTO answer_baselines (teacher_id, query_id, ll_without, n_answer_tokens, "
                     "input_sha) VALUES (?, ?, ?, ?, ?)", [(teacher_id, *r) for r in rows])

    def labeled_keys(self, teacher_id: str) -> dict[tuple[str, str], str | None]:
        """(query_id, passage_id) -> input_sha of every stored label of this teacher."""
        rows = self.con.execute("SELECT query_id, passage_id, input_sha FROM utility_labels WHERE teacher_id = ?",
                                [teacher_id]).fetchall()
        return {(q, p): sha for q, p, sha in rows}

    def add_labels(self, teacher_id: str, labels: Iterable[Label]) -> None:
        self._insert(
            "INSERT OR REPLACE INTO utility_labels (teacher_id, query_id, passage_id, ll_with, ll_without, "
            "n_answer_tokens, utility, input_sha) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [(teacher_id, x.query_id, x.passage_id, x.ll_with, x.ll_without, x.n_answer_tokens, x.utility,
              x.input_sha) for x in labels])

    def add_tables(self, baselines, labels) -> None:
        """Insert Arrow tables of baselines and labels (columns named as in the tables below, teacher_id
        included) in one transaction, replacing rows with equal keys: all of them are stored, or none."""
        self.con.execute("BEGIN TRANSACTION")
        try:
            for table, name, columns in ((baselines, "answer_baselines", BASELINE_COLUMNS),
                                         (labels, "utility_labels", LABEL_COLUMNS)):
                if table is not None and table.num_rows:
                    self.con.register("incoming_rows", table)
                    try:
                        self.con.execute(f"INSERT OR REPLACE INTO {name} ({columns}) SELECT {columns} "
                                         "FROM incoming_rows")
                    finally:
                        self.con.unregister("incoming_rows")
            self.con.execute("COMMIT")
        except BaseException:
            self.con.execute("ROLLBACK")
            raise

    def utilities(self, teacher_id: str, query_ids: Iterable[str] | None = None) -> dict[str, dict[str, float]]:
        """query_id -> {passage_id: utility} for one teacher."""
        rows = self.con.execute("SELECT query_id, passage_id, utility FROM utility_labels WHERE teacher_id = ?",
                                [teacher_id]).fetchall()
        wanted = None if query_ids is None else set(query_ids)
        out: dict[str, dict[str, float]] = {}
        for q, p, u in rows:
            if wanted is None or q in wanted:
                out.setdefault(q, {})[p] = u
        return out

    def count(self, teacher_id: str | None = None) -> int:
        if teacher_id is None:
            return self.con.execute("SELECT count(*) FROM utility_labels").fetchone()[0]
        return self.con.execute("SELECT count(*) FROM utility_labels WHERE teacher_id = ?",
                                [teacher_id]).fetchone()[0]

    def _insert(self, sql: str, rows: list[tuple]) -> None:
        if not rows:
            return
        self.con.execute("BEGIN TRANSACTION")
        try:
            self.con.executemany(sql, rows)
            self.con.execute("COMMIT")
        except BaseException:
            self.con.execute("ROLLBACK")
            raise
