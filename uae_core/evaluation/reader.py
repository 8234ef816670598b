"""Answer quality of a retriever: the teacher answers from the top-k passages, Token F1 against references.

This closes the loop the method is about: retrieval is good when the generator answers better with what it
retrieved. Generation is greedy (deterministic), one line, and cached by (question, passage ids), so
systems that retrieve the same passages share answers and an interrupted evaluation resumes.

Example:
    reader = Reader(load_teacher())
    f1 = answer_f1(reader, queries, rankings, passages, k=3, cache={})   # one Token F1 per query
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from tqdm.auto import tqdm

from uae_core.data import Passage, Query
from uae_core.evaluation.token_f1 import max_token_f1
from uae_core.labeling.teacher import Teacher


class Reader:
    """Greedy answers from the teacher LM, prompted like labeling (`Context: ... Question: ... Answer:`),
    each passage within the teacher's passage token budget."""

    def __init__(self, teacher: Teacher, max_new_tokens: int = 32, batch_size: int = 8):
        self.teacher, self.max_new_tokens, self.batch_size = teacher, max_new_tokens, batch_size

    def answer(self, items: Sequence[tuple[str, Sequence[str]]], show_progress: bool = False) -> list[str]:
        """One answer (its first line) per (question, contexts), in input order."""
        prompts = [self.teacher.answer_prompt(q, ctx) for q, ctx in items]
        out: list[str] = []
        step = self.batch_size * 4  # progress in chunks; the backend batches inside each
        for start in tqdm(range(0, len(prompts), step), desc="answers", disable=not show_progress):
            texts = self.teacher.generate(prompts[start:start + step], self.max_new_tokens, self.batch_size)
            out += [t.strip().split("\n")[0].strip() for t in texts]
        return out


def answer_f1(reader: Reader, queries: Sequence[Query], rankings: Sequence[Sequence[int]],
              passages: Sequence[Passage], k: int, cache: dict[str, str], show_progress: bool = False
              ) -> np.ndarray:
    """Token F1 (max over the query's reference answers) of the reader's answer from each query's top k.
    `cache` maps "query_id|pid,pid,..." to an answer; missing entries are generated and added."""
    keys, todo = [], {}
    for q, row in zip(queries, rankings):
        top = list(row)[:k]
        key = f"{q.query_id}|{','.join(passages[r].passage_id for r in top)}"
        keys.append(key)
        if key not in cache and key not in todo:
            todo[key] = (q.question, [passages[r].text for r in top])
    if todo:
        for key, text in zip(todo, reader.answer(list(todo.values()), show_progress=show_progress)):
            cache[key] = text
    return np.array([max_token_f1(cache[key], q.answers) for key, q in zip(keys, queries)], dtype=np.float64)
