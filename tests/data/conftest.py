"""A jsonl-format folder maker (tests/data/writers.py has the plain writers)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.data.writers import write_jsonl


@pytest.fixture
def jsonl_folder(tmp_path):
    """A jsonl-format folder from passage and (optionally) question records."""
    def make(passages: list, questions: list | None = None, name: str = "src") -> Path:
        folder = tmp_path / name
        write_jsonl(folder / "passages.jsonl", passages)
        if questions is not None:
            write_jsonl(folder / "questions.jsonl", questions)
        return folder
    return make
