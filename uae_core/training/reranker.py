"""A graded teacher signal: a cross-encoder distilled from the teacher's utilities, its scores distilled again.

A small LLM's utilities collapse onto one passage or stay level with noise (docs/decisive_questions.md), and a
dual encoder distils such scores poorly. LLM-Embedder's maintainers fixed this by training a cross-encoder
reranker on the LLM's scores and distilling the retriever from the reranker's smoother scores (FlagEmbedding
issue #553). Here the cross-encoder starts from the student's own base weights (no extra model to ship) with
a fresh one-logit head, and learns each question's teacher distribution listwise:
    loss = KL( softmax(utility / tau_t) || softmax(logits) )    over the question's candidates.
With `folds` 1 (FlagEmbedding's recipe) one cross-encoder trains on every question and scores them all: one
short epoch cannot memorise the teacher, so its scores are the teacher's, smoothed by what the cross-encoder
could fit. With `folds` >= 2 the scores are cross-fitted: each fold is scored by a cross-encoder trained on the
others, a judgement of questions it never saw (no trace of the teacher's label for that question). The
scores are put on the teacher's scale (tau_t * logits, shifted to the teacher's mean for the question, so
utility InfoNCE's margin keeps its meaning) and blended with the teacher's:
    utility' = (1 - mix) * utility + mix * reranker_utility

Example:
    from uae_core.retrieval.encoder import load_student
    from uae_core.training.examples import TrainExample
from uae_core.training.losses import kl_distillation_loss
from uae_core.training.schedule import warmup_then_decay
    ex = [TrainExample(f"q{i}", ("a", "b"), (f"answer {i}", "other"), (1.0, 0.0), (True, False))
          for i in range(4)]
    scores = reranker_utilities(load_student("packaged:all-MiniLM-L6-v2"), ex, RerankerConfig(folds=2))
    blended = blend_utilities(ex, scores, mix=0.5)
"""

from __future__ import annotations

import copy
import math
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace

import torch
from sentence_transformers import SentenceTransformer
from tqdm.auto import tqdm
from transformers import AutoModelForSequenceClassification

from uae_core.checks import require
from uae_core.training.examples import TrainExample
from uae_core.training.losses import kl_distillation_loss
from uae_core.training.schedule import warmup_then_decay


@dataclass(frozen=True)
class RerankerConfig:
    """How the cross-encoder is trained. `folds`: 1 scores the questions it trained on, >= 2 cross-fits (each
    question scored by a cross-encoder that never trained on it); `max_seq_length`: tokens of question and
    passage together (192: about what the teacher reads, its 128-token passage budget plus the question);
    `chunk_pairs`: pairs per forward pass; the other fields as in TrainConfig."""

    folds: int = 2
    epochs: int = 1
    batch_queries: int = 4
    learning_rate: float = 5e-5
    warmup_fraction: float = 0.1
    tau_t: float = 0.3
    max_seq_length: int = 192
    chunk_pairs: int = 16
    seed: int = 0

    def __post_init__(self) -> None:
        me = "RerankerConfig"
        require(self.folds >= 1, me, "folds", f"must be at least 1, got {self.folds}")
        require(self.epochs >= 1, me, "epochs", f"must be at least 1, got {self.epochs}")
        require(self.batch_queries >= 1, me, "batch_queries", f"must be at least 1, got {self.batch_queries}")
        require(self.learning_rate > 0, me, "learning_rate", f"must be > 0, got {self.learning_rate}")
        require(self.tau_t > 0, me, "tau_t", f"must be > 0, got {self.tau_t}")


def cross_encoder_from(student: SentenceTransformer) -> torch.nn.Module:
    """A one-logit sequence classifier with the student's transformer weights and a fresh head."""
    encoder = student[0].auto_model
    config = copy.deepcopy(encoder.config)
    config.num_labels = 1
    model = AutoModelForSequenceClassification.from_config(config)
    backbone = getattr(model, model.base_model_prefix)
    missing, unexpected = backbone.load_state_dict(encoder.state_dict(), strict=False)
    if unexpected or [m for m in missing if "pooler" not in m]:
        raise ValueError(f"student {type(encoder).__name__} does not fit {type(model).__name__}: missing "
                         f"{missing}, unexpected {unexpected}")
    return model.to(student.device)


def pair_logits(model: torch.nn.Module, tokenizer, pairs: Sequence[tuple[str, str]], max_seq_length: int,
                chunk_pairs: int) -> torch.Tensor:
    """The cross-encoder's logit of each (question, passage) pair, [len(pairs)]. Pairs go through in
    length-sorted chunks, each padded only to its own longest pair (as embed_with_grad does)."""
    order = sorted(range(len(pairs)), key=lambda i: len(pairs[i][0]) + len(pairs[i][1]))
    parts = []
    for start in range(0, len(order), chunk_pairs):
        chunk = [pairs[i] for i in order[start:start + chunk_pairs]]
        features = tokenizer([q for q, _ in chunk], [p for _, p in chunk], truncation="longest_first",
                             padding=True, max_length=max_seq_length, return_tensors="pt").to(model.device)
        parts.append(model(**features).logits[:, 0])
    return torch.cat(parts)[torch.argsort(torch.tensor(order, device=model.device))]


def _pairs(examples: Sequence[TrainExample]) -> list[tuple[str, str]]:
    return [(ex.question, p) for ex in examples for p in ex.passages]


def train_cross_encoder(student: SentenceTransformer, examples: Sequence[TrainExample], config: RerankerConfig,
                        show_progress: bool = True) -> torch.nn.Module:
    """A cross-encoder fitted to the teacher's distribution over each example's candidates (AdamW, linear
    warm-up and decay)."""
    model = cross_encoder_from(student)
    model.train()
    tokenizer = student.tokenizer
    order = list(range(len(examples)))
    rng = random.Random(config.seed)
    batches = math.ceil(len(examples) / config.batch_queries)
    total = batches * config.epochs
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.learning_rate, weight_decay=0.01)
    schedule = warmup_then_decay(optimizer, total, config.warmup_fraction)
    bar = tqdm(total=total, desc="train reranker", unit="step", disable=not show_progress)
    for _ in range(config.epochs):
        rng.shuffle(order)
        for b in range(batches):
            batch = [examples[i] for i in order[b * config.batch_queries:(b + 1) * config.batch_queries]]
            logits = pair_logits(model, tokenizer, _pairs(batch), config.max_seq_length, config.chunk_pairs)
            sizes = [len(ex.passages) for ex in batch]
            mask = torch.arange(max(sizes)) < torch.tensor(sizes)[:, None]
            utilities = torch.zeros(mask.shape)
            utilities[mask] = torch.tensor([u for ex in batch for u in ex.utilities])
            scores = torch.zeros(mask.shape, device=model.device).masked_scatter(mask.to(model.device), logits)
            loss = kl_distillation_loss(scores, utilities.to(model.device), config.tau_t, mask.to(model.device))
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            schedule.step()
            bar.update(1)
            bar.set_postfix(loss=f"{loss.item():.4f}")
    bar.close()
    model.eval()
    return model


@torch.inference_mode()
def _scored(model: torch.nn.Module, tokenizer, ex: TrainExample, config: RerankerConfig) -> tuple[float, ...]:
    """The example's candidates as utilities on the teacher's scale: tau_t * logit, shifted to the teacher's
    mean over the same candidates."""
    logits = pair_logits(model, tokenizer, _pairs([ex]), config.max_seq_length, config.chunk_pairs)
    scaled = (logits - logits.mean()) * config.tau_t + sum(ex.utilities) / len(ex.utilities)
    return tuple(float(u) for u in scaled)


def reranker_utilities(student: SentenceTransformer, examples: Sequence[TrainExample], config: RerankerConfig,
                       show_progress: bool = True) -> list[tuple[float, ...]]:
    """Reranker utilities, one tuple per example (same candidate order): with one fold, scored by the
    cross-encoder trained on them all; else each fold by a cross-encoder trained on the other folds. `student`
    is left unchanged."""
    require(len(examples) >= config.folds, "RerankerConfig", "folds",
            f"needs at least one question per fold: {len(examples)} questions, {config.folds} folds")
    order = list(range(len(examples)))
    random.Random(config.seed).shuffle(order)
    fold_of = {i: n % config.folds for n, i in enumerate(order)}
    out: list[tuple[float, ...] | None] = [None] * len(examples)
    for fold in range(config.folds):
        train = [ex for i, ex in enumerate(examples) if fold_of[i] != fold or config.folds == 1]
        model = train_cross_encoder(student, train, replace(config, seed=config.seed + fold), show_progress)
        held_out = [i for i in range(len(examples)) if fold_of[i] == fold]
        for i in tqdm(held_out, desc=f"score fold {fold + 1}/{config.folds}", unit="q", disable=not show_progress):
            out[i] = _scored(model, student.tokenizer, examples[i], config)
        del model
    return out  # type: ignore[return-value]


def blend_utilities(examples: Sequence[TrainExample], reranker: Sequence[Sequence[float]], mix: float
                    ) -> list[TrainExample]:
    """Examples whose utilities are (1 - mix) * teacher + mix * reranker (mix 0: the teacher's own)."""
    require(0 <= mix <= 1, "TrainConfig", "reranker_mix", f"must be in [0, 1], got {mix}")
    if len(reranker) != len(examples):
        raise ValueError(f"{len(reranker)} reranker score rows for {len(examples)} examples")
    return [replace(ex, utilities=tuple((1 - mix) * u + mix * r for u, r in zip(ex.utilities, scores, strict=True)))
            for ex, scores in zip(examples, reranker)]


def graded_examples(student: SentenceTransformer, examples: Sequence[TrainExample], mix: float, folds: int,
                    tau_t: float, seed: int, show_progress: bool = True) -> tuple[list[TrainExample], float]:
    """What train_student trains on with `reranker_mix` > 0: the blended examples, and the seconds it took."""
    started = time.perf_counter()
    scores = reranker_utilities(student, examples, RerankerConfig(folds=folds, tau_t=tau_t, seed=seed),
                                show_progress)
    return blend_utilities(examples, scores, mix), time.perf_counter() - started
