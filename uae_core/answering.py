"""Answer quality of a retriever: the teacher answers from the top-k passages, Token F1 against references.

This closes the loop the method is about: retrieval is good when the generator answers better with what it
retrieved. Generation is greedy (deterministic), one line, and cached by (question, passage ids), so
systems that retrieve the same passages share answers and an interrupted evaluation resumes.

Example:
    reader = Reader(Teacher())
    f1 = answer_f1(reader, queries, rankings, passages, k=3, cache={})   # one Token F1 per query
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import torch
from tqdm.auto import tqdm

from uae_core.answer_metrics import max_token_f1
from uae_core.qasper import Passage, Query
from uae_core.teacher import Teacher


class Reader:
    """Greedy answers from the teacher LM, prompted like labeling: `Context: ... Question: ... Answer:`.
    Each passage keeps the teacher's passage token budget."""

    def __init__(self, teacher: Teacher, max_new_tokens: int = 32, batch_size: int = 8):
        self.teacher, self.max_new_tokens, self.batch_size = teacher, max_new_tokens, batch_size

    def prompt_ids(self, question: str, contexts: Sequence[str]) -> list[int]:
        t, c = self.teacher, self.teacher.config
        ids: list[int] = []
        if c.add_bos and t.tokenizer.bos_token_id is not None:
            ids.append(t.tokenizer.bos_token_id)
        ids += t._literal("Context: ")
        for i, text in enumerate(contexts):
            if i:
                ids += t._literal("\n\n")
            ids += t._ids(text)[: c.max_passage_tokens]
        ids += t._literal("\n\nQuestion: ") + t._ids(question)[: c.max_question_tokens] + t._literal("\nAnswer:")
        return ids

    @torch.inference_mode()
    def answer(self, items: Sequence[tuple[str, Sequence[str]]], show_progress: bool = False) -> list[str]:
        """One answer per (question, contexts), in input order."""
        prompts = [self.prompt_ids(q, ctx) for q, ctx in items]
        order = sorted(range(len(prompts)), key=lambda i: len(prompts[i]))
        out = [""] * len(prompts)
        t = self.teacher
        for start in tqdm(range(0, len(order), self.batch_size), desc="answers", disable=not show_progress):
            idx = order[start:start + self.batch_size]
            width = max(len(prompts[i]) for i in idx)
            input_ids = torch.full((len(idx), width), t.pad_id, dtype=torch.long)
            attention = torch.zeros((len(idx), width), dtype=torch.long)
            for row, i in enumerate(idx):
                input_ids[row, width - len(prompts[i]):] = torch.tensor(prompts[i])
                attention[row, width - len(prompts[i]):] = 1
            generated = t.model.generate(input_ids=input_ids.to(t.device), attention_mask=attention.to(t.device),
                                         max_new_tokens=self.max_new_tokens, do_sample=False,
                                         pad_token_id=t.pad_id)
            for row, i in enumerate(idx):
                text = t.tokenizer.decode(generated[row, width:], skip_special_tokens=True)
                out[i] = text.strip().split("\n")[0].strip()
        return out


def answer_f1(reader: Reader, queries: Sequence[Query], rankings: Sequence[Sequence[int]],
              passages: Sequence[Passage], k: int, cache: dict[str, str], show_progress: bool = False
              ) -> np.ndarray:
    """Token F1 (max over the query's reference answers) of the reader's answer from each query's top k.
    `cache` maps "query_id|pid,pid,..." to an answer; missing entries are generated and added."""
    keys, todo = [], {}
    for q, row in zip(queries, rankings):
        pids = [passages[r].passage_id for r in list(row)[:k]]
        key = f"{q.query_id}|{','.join(pids)}"
        keys.append(key)
        if key not in cache and key not in todo:
            todo[key] = (q.question, [passages[r].text for r in list(row)[:k]])
    if todo:
        for key, text in zip(todo, reader.answer(list(todo.values()), show_progress=show_progress)):
            cache[key] = text
    return np.array([max_token_f1(cache[key], q.answers) for key, q in zip(keys, queries)], dtype=np.float64)
