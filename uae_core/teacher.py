"""The teacher: how much does a passage raise the likelihood of the reference answer?

    ll(a | q, d) = mean over answer tokens of log p(token | prompt with passage, earlier answer tokens)
    utility(q, d) = ll(a | q, d) - ll(a | q)        (log perplexity reduction, nats per token)

Prompts are built from token pieces (template literals, passage, question, answer) so that each field is
truncated to its own token budget exactly and the answer tokens are the same with and without context.
Sequences are left-padded, so every answer ends at the last position and `logits_to_keep` limits the LM
head to the answer span: only those logits are computed (the vocabulary projection is most of the cost).
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Sequence

import torch

from uae_core.models import DEFAULT_TEACHER, resolve_teacher, teacher_fingerprint


@dataclass(frozen=True)
class TeacherConfig:
    model: str = DEFAULT_TEACHER
    backend: str = "transformers"  # or "vllm"; part of teacher_id (kernels differ)
    prompt_with_context: str = "Context: {passage}\n\nQuestion: {question}\nAnswer:"
    prompt_without_context: str = "Question: {question}\nAnswer:"
    # Scoring the question instead of an answer: LLM re-ranking (UPR) and labels of questions without answers
    question_prompt_with_context: str = "Passage: {passage}\nPlease write a question based on this passage.\nQuestion:"
    question_prompt_without_context: str = "Please write a question.\nQuestion:"
    max_passage_tokens: int = 128
    max_question_tokens: int = 64
    max_answer_tokens: int = 64
    add_bos: bool = False  # Gemma-family teachers need BOS
    answer_policy: str = "first"  # "first" annotator's answer or "average" the ll over all annotators;
    # "first_extractive"/"average_extractive": their extractive spans instead of the free-form answer
    without_answers: str = "question_likelihood"  # questions with no reference answer: "skip" them
    batch_size: int = 8
    dtype: str = "float32"  # bf16 is ~6x slower on CPUs without AMX

    def scoring_fields(self) -> dict:
        """What changes the labels (not batch size or dtype on a given backend)."""
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
    question: str
    answer: str  # the scored target: the reference answer (utility) or the question itself (UPR re-ranking)
    passage: str | None  # None: the no-context baseline


class Teacher:
    """Scores answers with a causal LM. The model loads on first use: knowing the teacher_id (to find
    what is already labeled) costs no model load."""

    def __init__(self, config: TeacherConfig = TeacherConfig(), cache_dir: str | Path = "data/models",
                 device: str = "cpu"):
        self.config, self.cache_dir, self.device = config, cache_dir, device
        self.teacher_id = teacher_id_for(config, teacher_fingerprint(config.model))
        self._templates = {True: _split_template(config.prompt_with_context),
                           False: _split_template(config.prompt_without_context)}
        self._literal_cache: dict[str, list[int]] = {}
        self._tokenizer = self._model = None
        self._weights_from: Teacher | None = None

    def with_config(self, **changes) -> "Teacher":
        """Another prompt or scoring config over these same weights, loaded once and shared (the UPR
        re-ranker and the answer reader beside the labeling teacher)."""
        config = replace(self.config, **changes)
        if (config.model, config.dtype) != (self.config.model, self.config.dtype):
            raise ValueError("with_config keeps the weights: change the model or dtype with a new Teacher")
        other = Teacher(config, cache_dir=self.cache_dir, device=self.device)
        other._weights_from = self
        return other

    @property
    def tokenizer(self):
        if self._tokenizer is None and self._weights_from is not None:
            self._tokenizer = self._weights_from.tokenizer
        if self._tokenizer is None:
            from transformers import AutoTokenizer

            self._tokenizer = AutoTokenizer.from_pretrained(resolve_teacher(self.config.model, self.cache_dir))
        return self._tokenizer

    @property
    def model(self):
        if self._model is None and self._weights_from is not None:
            self._model = self._weights_from.model
        if self._model is None:
            from transformers import AutoModelForCausalLM

            source = resolve_teacher(self.config.model, self.cache_dir)
            self._model = AutoModelForCausalLM.from_pretrained(source, dtype=getattr(torch, self.config.dtype))
            self._model.to(self.device).eval()
        return self._model

    @property
    def pad_id(self) -> int:
        pad = self.tokenizer.pad_token_id
        return pad if pad is not None else (self.tokenizer.eos_token_id or 0)

    @property
    def loaded(self) -> bool:
        return self._model is not None

    def _ids(self, text: str) -> list[int]:
        return self.tokenizer(text, add_special_tokens=False)["input_ids"]

    def _literal(self, text: str) -> list[int]:
        if text not in self._literal_cache:
            self._literal_cache[text] = self._ids(text)
        return self._literal_cache[text]

    def encode(self, request: ScoreRequest) -> tuple[list[int], list[int]]:
        """(prompt ids, answer ids) with each field cut to its token budget."""
        c = self.config
        fields = {"question": self._ids(request.question)[: c.max_question_tokens]}
        if request.passage is not None:
            fields["passage"] = self._ids(request.passage)[: c.max_passage_tokens]
        prompt: list[int] = []
        if c.add_bos and self.tokenizer.bos_token_id is not None:
            prompt.append(self.tokenizer.bos_token_id)
        for kind, value in self._templates[request.passage is not None]:
            prompt += fields[value] if kind == "field" else self._literal(value)
        answer = self._ids(" " + request.answer.strip())[: c.max_answer_tokens]
        if not answer:
            raise ValueError(f"empty answer for question {request.question!r}")
        return prompt, answer

    @torch.inference_mode()
    def score(self, requests: Sequence[ScoreRequest]) -> list[tuple[float, int]]:
        """(mean answer-token log-likelihood, answer token count) per request, in input order."""
        encoded = [self.encode(r) for r in requests]
        order = sorted(range(len(encoded)), key=lambda i: len(encoded[i][0]) + len(encoded[i][1]))
        out: list[tuple[float, int]] = [(0.0, 0)] * len(encoded)
        bs = self.config.batch_size
        for start in range(0, len(order), bs):
            idx = order[start:start + bs]
            for i, value in zip(idx, self._score_batch([encoded[i] for i in idx])):
                out[i] = value
        return out

    def _score_batch(self, batch: list[tuple[list[int], list[int]]]) -> list[tuple[float, int]]:
        seqs = [p + a for p, a in batch]
        width = max(len(s) for s in seqs)
        max_answer = max(len(a) for _, a in batch)
        input_ids = torch.full((len(seqs), width), self.pad_id, dtype=torch.long)
        attention = torch.zeros((len(seqs), width), dtype=torch.long)
        for row, s in enumerate(seqs):
            input_ids[row, width - len(s):] = torch.tensor(s)
            attention[row, width - len(s):] = 1
        positions = (attention.cumsum(-1) - 1).clamp(min=0)
        logits = self.model(input_ids=input_ids.to(self.device), attention_mask=attention.to(self.device),
                            position_ids=positions.to(self.device), logits_to_keep=max_answer + 1).logits
        logprobs = torch.log_softmax(logits.float(), dim=-1)  # [b, max_answer + 1, vocab]
        results = []
        for row, (_, answer) in enumerate(batch):
            n = len(answer)
            predicting = logprobs[row, -(n + 1):-1]  # logits at position t predict token t + 1
            target = torch.tensor(answer, device=predicting.device)
            ll = predicting.gather(-1, target[:, None]).squeeze(-1)
            results.append((float(ll.mean()), n))
        return results


def _split_template(template: str) -> list[tuple[str, str]]:
    """'Context: {passage}\\n...' -> [('literal', 'Context: '), ('field', 'passage'), ...]."""
    pieces: list[tuple[str, str]] = []
    pos = 0
    for m in re.finditer(r"\{(passage|question)\}", template):
        if m.start() > pos:
            pieces.append(("literal", template[pos:m.start()]))
        pieces.append(("field", m.group(1)))
        pos = m.end()
    if pos < len(template):
        pieces.append(("literal", template[pos:]))
    if not any(kind == "field" for kind, _ in pieces):
        raise ValueError(f"prompt template must contain {{question}} and/or {{passage}}: {template!r}")
    return pieces
