"""Questions the teacher writes for passages: training questions for passages no user question touches.

The teacher continues its question prompt (`question_prompt_with_context`) greedily; the first line is the
question. A generated question has no reference answer, so its candidates are labeled by question
likelihood (TeacherConfig.without_answers); the passage it was written from is its gold passage.
"""

from __future__ import annotations

from collections.abc import Sequence

from uae_core.data import Passage, Query
from uae_core.labeling.teacher import Teacher

MIN_WORDS = 3  # a shorter continuation is not a question


def generate_questions(teacher: Teacher, passages: Sequence[Passage], max_new_tokens: int = 40,
                       batch_size: int = 8) -> list[Query]:
    """One question per passage (id `gen::<passage id>`, split train); passages whose continuation is empty
    or too short get none."""
    texts = teacher.generate([teacher.question_prompt(p.text) for p in passages], max_new_tokens, batch_size)
    out = []
    for passage, text in zip(passages, texts):
        question = (text.strip().splitlines() or [""])[0].strip()
        if len(question.split()) >= MIN_WORDS:
            out.append(Query(f"gen::{passage.passage_id}", passage.doc_id, question, (), (), (passage.passage_id,),
                             "train"))
    return out
