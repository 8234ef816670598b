"""Prompts built from token pieces, and left-padded batches of them.

A prompt template such as `Context: {passage}\\n\\nQuestion: {question}\\nAnswer:` is split into literal
pieces and fields. Each field is tokenized on its own and cut to its own token budget, so a long passage
never eats the question, and the scored target's tokens are the same with and without context (a
tokenizer merging across the boundary would otherwise change them).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import torch

FIELDS = ("passage", "question")


def split_template(template: str) -> list[tuple[str, str]]:
    """'Context: {passage}\\n...' -> [('literal', 'Context: '), ('field', 'passage'), ...]."""
    pieces: list[tuple[str, str]] = []
    pos = 0
    for m in re.finditer(r"\{(" + "|".join(FIELDS) + r")\}", template):
        if m.start() > pos:
            pieces.append(("literal", template[pos:m.start()]))
        pieces.append(("field", m.group(1)))
        pos = m.end()
    if pos < len(template):
        pieces.append(("literal", template[pos:]))
    if not pieces:
        raise ValueError("a prompt template must not be empty")
    return pieces


class PromptBuilder:
    """Token ids of prompt pieces for one tokenizer (literals cached: they repeat in every prompt)."""

    def __init__(self, tokenizer, add_bos: bool = False):
        self.tokenizer, self.add_bos = tokenizer, add_bos
        self._literals: dict[str, list[int]] = {}

    def ids(self, text: str) -> list[int]:
        return self.tokenizer(text, add_special_tokens=False)["input_ids"]

    def literal(self, text: str) -> list[int]:
        if text not in self._literals:
            self._literals[text] = self.ids(text)
        return self._literals[text]

    def render(self, pieces: Sequence[tuple[str, str]], fields: dict[str, list[int]]) -> list[int]:
        """The prompt's ids: BOS if configured, then each literal and each field's (already cut) ids."""
        out: list[int] = []
        if self.add_bos and self.tokenizer.bos_token_id is not None:
            out.append(self.tokenizer.bos_token_id)
        for kind, value in pieces:
            if kind == "literal":
                out += self.literal(value)
            elif value not in fields:
                raise ValueError(f"the prompt template needs {{{value}}}, which this request does not have")
            else:
                out += fields[value]
        return out


def left_pad(seqs: Sequence[Sequence[int]], pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(input_ids, attention_mask), padded on the left so that every sequence ends at the last position."""
    width = max(len(s) for s in seqs)
    input_ids = torch.full((len(seqs), width), pad_id, dtype=torch.long)
    attention = torch.zeros((len(seqs), width), dtype=torch.long)
    for row, s in enumerate(seqs):
        input_ids[row, width - len(s):] = torch.tensor(list(s), dtype=torch.long)
        attention[row, width - len(s):] = 1
    return input_ids, attention
