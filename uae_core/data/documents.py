"""Format `documents`: a folder of .txt / .md files (searched recursively, in sorted order), each a document.

doc_id is the file's path relative to the folder without its suffix (`notes/intro`); passage ids are
`relative/path.md::index`, counted from 0 within the file. A file is cut into paragraphs at blank lines
(whitespace inside a paragraph is collapsed to single spaces); in .md files an ATX heading line (`# ...`,
outside ``` fences) ends a paragraph and becomes the `section` of the passages after it, and passages never
cross a heading. Passages aim at `LoadOptions.chunk_words` words, because a retriever (and the teacher's
passage budget) needs comparable units: consecutive short paragraphs are merged while they fit, and a
longer paragraph is split at sentence ends into near-equal pieces (a sentence longer than the budget is
cut by words). An optional questions.jsonl in the folder holds questions in the `jsonl` format's schema
(gold ids are the passage ids above); without it the corpus has passages and no questions. Files of other
kinds, and files under hidden folders, are not read (counted).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from pathlib import Path

from uae_core.data.records import CorpusBuilder, add_question_record, read_jsonl
from uae_core.data.schema import Corpus, DataFormatError, LoadOptions

SUFFIXES = (".txt", ".md")
HEADING = re.compile(r"^ {0,3}#{1,6}(?:\s+(.*?))?\s*$")
FENCE = re.compile(r"^ {0,3}(```|~~~)")
SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


def paragraphs(text: str, markdown: bool) -> Iterator[tuple[str, str]]:
    """(section, paragraph) pairs; the section is the last markdown heading seen ("" before any)."""
    section, lines, in_fence = "", [], False
    for line in text.splitlines():
        if markdown and FENCE.match(line):
            in_fence = not in_fence
        heading = HEADING.match(line) if markdown and not in_fence else None
        if heading or not line.strip():
            if lines:
                yield section, " ".join(" ".join(lines).split())
                lines = []
            if heading:
                section = (heading.group(1) or "").rstrip("#").strip()
            continue
        lines.append(line)
    if lines:
        yield section, " ".join(" ".join(lines).split())


def split_long(paragraph: str, budget: int) -> list[str]:
    """A paragraph over `budget` words in near-equal pieces of whole sentences, none over the budget: each
    piece ends at the sentence end nearest to an equal share of the words still to place."""
    remaining = len(paragraph.split())
    if remaining <= budget:
        return [paragraph]
    units = []
    for sentence in SENTENCE_END.split(paragraph):
        words = sentence.split()
        units.extend(" ".join(words[i:i + budget]) for i in range(0, len(words), budget))
    target = remaining / math.ceil(remaining / budget)
    pieces, current, size = [], [], 0
    for unit in units:
        n = len(unit.split())
        if current and (size + n > budget or abs(size + n - target) > abs(size - target)):
            pieces.append(" ".join(current))
            remaining -= size
            target = remaining / math.ceil(remaining / budget)
            current, size = [], 0
        current.append(unit)
        size += n
    pieces.append(" ".join(current))
    return pieces


def chunk(text: str, budget: int, markdown: bool) -> list[tuple[str, str]]:
    """(section, passage text) for one file: short paragraphs merged up to `budget` words, long ones split."""
    out: list[tuple[str, str]] = []
    merged: list[str] = []
    size, merged_section = 0, ""
    for section, paragraph in paragraphs(text, markdown):
        n = len(paragraph.split())
        if merged and (section != merged_section or size + n > budget):
            out.append((merged_section, "\n\n".join(merged)))
            merged, size = [], 0
        if n > budget:
            out.extend((section, piece) for piece in split_long(paragraph, budget))
            continue
        merged.append(paragraph)
        merged_section, size = section, size + n
    if merged:
        out.append((merged_section, "\n\n".join(merged)))
    return out


def load_documents(path: str | Path, options: LoadOptions = LoadOptions()) -> Corpus:
    folder = Path(path)
    if not folder.is_dir():
        raise DataFormatError(folder, None, None, "expected a folder of .txt / .md files")
    if options.chunk_words < 1:
        raise ValueError(f"chunk_words must be at least 1, got {options.chunk_words}")
    builder = CorpusBuilder(options)
    skipped = builder.report.skipped
    doc_files: dict[str, Path] = {}
    for file in sorted(p for p in folder.rglob("*") if p.is_file()):
        rel = file.relative_to(folder)
        if any(part.startswith(".") for part in rel.parts):
            skipped["hidden_files"] += 1
            continue
        if file.suffix.lower() not in SUFFIXES:
            if rel.as_posix() != "questions.jsonl":
                skipped["unsupported_files"] += 1
            continue
        doc_id = rel.with_suffix("").as_posix()
        if doc_id in doc_files:
            raise DataFormatError(file, None, "doc_id", f"document id {doc_id!r} is also that of "
                                                        f"{doc_files[doc_id]}: rename one of the two files")
        doc_files[doc_id] = file
        try:
            text = file.read_bytes().decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise DataFormatError(file, None, None, f"not UTF-8 text ({exc.reason} at byte {exc.start})") from None
        passages = chunk(text, options.chunk_words, file.suffix.lower() == ".md")
        if not passages:
            skipped["empty_documents"] += 1
        for index, (section, body) in enumerate(passages):
            builder.add_passage(f"{rel.as_posix()}::{index}", doc_id, section, body)
    questions = folder / "questions.jsonl"
    if questions.is_file():
        for rec in read_jsonl(questions):
            add_question_record(builder, rec)
    return builder.corpus(folder)
