"""Formats `jsonl` and `parquet`: a folder holding your own passages and (optionally) questions as tables.

    passages.jsonl | passages.parquet    id, text, optional doc_id, optional section (or title)
    questions.jsonl | questions.parquet  id, question (or text), optional answers, gold_ids (alias
                                         gold_passage_ids), doc_id, split

One record a passage or a question, columns as in `records.add_passage_record` / `add_question_record`.
The text is taken as given (a title only fills `section`); a passage without doc_id is its own document.
Questions may lack answers (they are labeled by another route) and gold ids; without a `split` they are
split by the hash of their doc_id, else of their id. The loader takes the folder, not a file, so the
folder's content hash (the data version) covers the questions too. Parquet rows are counted from 0 in
error messages, JSONL lines from 1.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from uae_core.data.records import CorpusBuilder, Record, add_passage_record, add_question_record, read_jsonl
from uae_core.data.schema import Corpus, DataFormatError, LoadOptions


def read_parquet(path: Path) -> Iterator[Record]:
    """The rows of a Parquet file as records (lists come back as lists, nulls as None)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
    except (OSError, pa.ArrowException) as exc:
        raise DataFormatError(path, None, None, f"not a readable Parquet file ({exc})") from None
    for n, row in enumerate(table.to_pylist()):
        yield Record(path, "row", str(n), row)


def _load_tables(folder: Path, options: LoadOptions, suffix: str, read) -> Corpus:
    if not folder.is_dir():
        raise DataFormatError(folder, None, None, f"expected a folder holding passages{suffix} "
                                                  f"(and optionally questions{suffix})")
    passages = folder / f"passages{suffix}"
    if not passages.is_file():
        raise DataFormatError(folder, None, None, f"no passages{suffix} in this folder")
    builder = CorpusBuilder(options)
    for rec in read(passages):
        add_passage_record(builder, rec)
    questions = folder / f"questions{suffix}"
    if questions.is_file():
        for rec in read(questions):
            add_question_record(builder, rec)
    return builder.corpus(passages)


def load_jsonl(path: str | Path, options: LoadOptions = LoadOptions()) -> Corpus:
    """A folder with passages.jsonl and optionally questions.jsonl."""
    return _load_tables(Path(path), options, ".jsonl", read_jsonl)


def load_parquet(path: str | Path, options: LoadOptions = LoadOptions()) -> Corpus:
    """A folder with passages.parquet and optionally questions.parquet (read with pyarrow)."""
    return _load_tables(Path(path), options, ".parquet", read_parquet)
