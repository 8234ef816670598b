"""The teacher's batched, left-padded, answer-only scoring equals a plain full-logits computation."""

import dataclasses

import pytest
import torch

from uae_core.labeling.teacher import ScoreRequest, Teacher, TeacherConfig, load_teacher, teacher_id_for

REQUESTS = [
    ScoreRequest("answer", "What do transformers use?", "attention", "Transformers use attention to mix tokens."),
    ScoreRequest("answer", "What do transformers use?", "attention", None),
    ScoreRequest("answer", "Which dataset is evaluated in this long question about retrieval?",
                 "QASPER, with Recall@1", "We evaluate on QASPER. " * 20),
    ScoreRequest("question", "Which dataset is evaluated?", passage="We evaluate on QASPER."),
    ScoreRequest("question", "Which dataset is evaluated?"),
]


@pytest.fixture(scope="module")
def teacher(tiny_teacher_dir):
    return load_teacher(TeacherConfig(model=str(tiny_teacher_dir), batch_size=3, max_passage_tokens=40),
                        cache_dir="unused")


def _reference(teacher: Teacher, request: ScoreRequest) -> float:
    prompt, answer = teacher.encode(request)
    ids = torch.tensor([prompt + answer])
    with torch.no_grad():
        logprobs = torch.log_softmax(teacher.model(input_ids=ids).logits[0], -1)
    start = len(prompt)
    return float(torch.stack([logprobs[start + i - 1, tok] for i, tok in enumerate(answer)]).mean())


def test_batched_answer_only_scores_match_unpadded_reference(teacher):
    scored = teacher.score(REQUESTS)
    for request, (ll, n) in zip(REQUESTS, scored):
        assert n == len(teacher.encode(request)[1])
        assert ll == pytest.approx(_reference(teacher, request), abs=1e-4)
    reversed_lls = [ll for ll, _ in teacher.score(REQUESTS[::-1])]
    assert reversed_lls == pytest.approx([ll for ll, _ in scored[::-1]], abs=1e-4)  # order-independent


def test_fields_are_cut_to_their_token_budgets(teacher):
    prompt, _ = teacher.encode(REQUESTS[2])
    without_passage, _ = teacher.encode(dataclasses.replace(REQUESTS[2], passage=None))
    literal = teacher.prompts.ids
    passage_tokens = len(prompt) - len(without_passage) - len(literal("Context: ")) - len(literal("\n\n"))
    assert passage_tokens <= 40


def test_teacher_id_changes_with_prompt_and_scoring_but_not_batch_size():
    base = TeacherConfig(model="some/model")
    ids = {teacher_id_for(c, "abc") for c in (base, dataclasses.replace(base, batch_size=32))}
    assert len(ids) == 1
    assert teacher_id_for(dataclasses.replace(base, prompt_with_context="C: {passage} Q: {question} A:"),
                          "abc") not in ids
    assert teacher_id_for(dataclasses.replace(base, max_passage_tokens=256), "abc") not in ids
    assert teacher_id_for(base, "def") not in ids  # new weights
