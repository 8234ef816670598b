"""Fine-tune the student so its similarity over each query's candidates imitates the teacher's utility.

One step: embed a batch of B questions and their candidate passages, score every question against every
passage in the batch (cos / tau_s), then
    loss = lambda * L_umi + (1 - lambda) * L_kl          (objective "uae", the default)
with the alternatives "kl", "umi" (the two halves) and "gold" (plain InfoNCE on gold evidence, the
hard-label baseline). Passages of other questions in the batch are extra negatives unless they are also
in the question's own candidate set.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal, get_args

import torch
from sentence_transformers import SentenceTransformer
from tqdm.auto import tqdm

from uae_core.retrieval.encoder import embed_with_grad
from uae_core.training.examples import TrainExample
from uae_core.training.losses import gold_infonce_loss, kl_distillation_loss, utility_infonce_loss
from uae_core.training.schedule import warmup_then_decay
from uae_core.validation import require, require_choice, require_finite

Objective = Literal["uae", "kl", "umi", "gold"]
OBJECTIVES = get_args(Objective)


@dataclass(frozen=True)
class TrainConfig:
    """How the student is fine-tuned.

    Attributes:
        objective: `uae` (lam * utility InfoNCE + (1 - lam) * KL), `kl`, `umi`, or `gold` (InfoNCE on gold
            evidence: the hard-label baseline, which needs annotations).
        epochs: passes over the labeled questions.
        batch_queries: questions per step (their candidates and in-batch negatives come along).
        learning_rate: AdamW peak learning rate (linear warm-up, then linear decay).
        weight_decay: AdamW weight decay.
        warmup_fraction: share of the steps spent warming up.
        tau_s: student temperature: s(q, d) = cos(E(q), E(d)) / tau_s.
        tau_t: teacher temperature: p = softmax(utility / tau_t).
        lam: weight of utility-modulated InfoNCE in the `uae` mix.
        margin: skip a question in utility InfoNCE when even its best utility is below this.
        in_batch_negatives: passages of the other questions in the batch are negatives too.
        max_seq_length: student token budget per text.
        gradient_checkpointing: trade compute for memory (~3x less activation memory).
        embed_chunk_size: texts per forward pass, length-sorted: less padding, and a small CPU keeps a chunk's
            activations in cache (4 was the fastest measured here, docs/bench_train_step.md; a GPU wants more).
        seed: shuffling and initialisation seed.
        merge_shares: after training, shares of the way back to the base weights to try (weight-space
            ensembling, WiSE-FT; uae_core.training.merge): the one with the best dev score is kept (the first
            when there is no dev split). 0 is the plain student. The best share depends on the domain: qasper
            dev and test preferred 0.5, covidqa 0 (docs/weight_merge*.md); each extra share costs one corpus
            encode.
    """

    objective: Objective = "uae"
    epochs: int = 2
    batch_queries: int = 8
    learning_rate: float = 2e-5
    weight_decay: float = 0.01
    warmup_fraction: float = 0.1
    tau_s: float = 0.05
    tau_t: float = 0.3
    lam: float = 0.5
    margin: float = 0.0
    in_batch_negatives: bool = True
    max_seq_length: int = 256
    gradient_checkpointing: bool = False
    embed_chunk_size: int = 4
    seed: int = 0
    merge_shares: tuple[float, ...] = (0.0, 0.5)

    def __post_init__(self) -> None:
        me = "TrainConfig"
        require_finite(self, me)
        require_choice(self.objective, OBJECTIVES, me, "objective")
        require(self.epochs >= 1, me, "epochs", f"must be at least 1, got {self.epochs}")
        require(self.batch_queries >= 1, me, "batch_queries", f"must be at least 1, got {self.batch_queries}")
        require(self.learning_rate > 0, me, "learning_rate", f"must be > 0, got {self.learning_rate}")
        require(self.weight_decay >= 0, me, "weight_decay", f"must be >= 0, got {self.weight_decay}")
        require(0 <= self.warmup_fraction < 1, me, "warmup_fraction", f"must be in [0, 1), got {self.warmup_fraction}")
        require(self.tau_s > 0, me, "tau_s", f"must be > 0, got {self.tau_s}")
        require(self.tau_t > 0, me, "tau_t", f"must be > 0, got {self.tau_t}")
        require(0 <= self.lam <= 1, me, "lam", f"must be in [0, 1], got {self.lam}")
        require(self.max_seq_length >= 8, me, "max_seq_length", f"must be at least 8, got {self.max_seq_length}")
        require(self.embed_chunk_size >= 1, me, "embed_chunk_size", f"must be at least 1, got {self.embed_chunk_size}")
        object.__setattr__(self, "merge_shares", tuple(float(s) for s in self.merge_shares))  # a list from config
        require(len(self.merge_shares) >= 1, me, "merge_shares", "needs at least one share (0: the plain student)")
        require(all(0 <= s < 1 for s in self.merge_shares), me, "merge_shares",
                f"each must be in [0, 1), got {list(self.merge_shares)}")
        require(len(set(self.merge_shares)) == len(self.merge_shares), me, "merge_shares",
                f"has a share twice: {list(self.merge_shares)}")


@dataclass
class TrainResult:
    steps: int = 0
    trained_queries: int = 0  # questions trained on (examples with at least two labeled candidates)
    seconds: float = 0.0
    epoch_losses: list[float] = field(default_factory=list)


StepCallback = Callable[[int, dict[str, float]], None]


class NonFiniteLossError(ValueError):
    """Training diverged (a NaN or infinite loss, or weights): nothing of it may be registered."""


def diverged(what: str, config: TrainConfig) -> str:
    return (f"{what}: training diverged; lower learning_rate ({config.learning_rate}) or raise tau_s "
            f"({config.tau_s}) / tau_t ({config.tau_t}) in TrainConfig (ops.uae_encoder.config)")


def batch_loss(model: SentenceTransformer, batch: Sequence[TrainExample], config: TrainConfig) -> torch.Tensor:
    q = embed_with_grad(model, [ex.question for ex in batch], config.embed_chunk_size)
    flat = [p for ex in batch for p in ex.passages]
    d = embed_with_grad(model, flat, config.embed_chunk_size)
    scores = q @ d.T / config.tau_s  # [B, N]
    k = max(len(ex.passages) for ex in batch)
    mask = torch.zeros(len(batch), k, dtype=torch.bool)
    utilities = torch.zeros(len(batch), k)
    gold = torch.zeros(len(batch), k, dtype=torch.bool)
    inbatch_mask = torch.ones(len(batch), len(flat), dtype=torch.bool)
    flat_ids = [pid for ex in batch for pid in ex.passage_ids]
    own_cols = []
    offset = 0
    for i, ex in enumerate(batch):
        n = len(ex.passages)
        own_cols.append(list(range(offset, offset + n)) + [offset] * (k - n))
        mask[i, :n] = True
        utilities[i, :n] = torch.tensor(ex.utilities)
        gold[i, :n] = torch.tensor(ex.is_gold)
        ids = set(ex.passage_ids)
        inbatch_mask[i] = torch.tensor([pid not in ids for pid in flat_ids])
        offset += n
    mask, utilities, gold, inbatch_mask = (t.to(scores.device) for t in (mask, utilities, gold, inbatch_mask))
    own = scores.gather(1, torch.tensor(own_cols, device=scores.device))
    ib = (scores, inbatch_mask) if config.in_batch_negatives and len(batch) > 1 else (None, None)
    if config.objective == "gold":
        return gold_infonce_loss(own, gold, mask, *ib)
    kl = kl_distillation_loss(own, utilities, config.tau_t, mask)
    if config.objective == "kl":
        return kl
    umi = utility_infonce_loss(own, utilities, config.tau_t, mask, config.margin, *ib)
    if config.objective == "umi":
        return umi
    if config.objective == "uae":
        return config.lam * umi + (1 - config.lam) * kl
    raise ValueError(f"objective must be one of {OBJECTIVES}, got {config.objective!r}")


def train_student(model: SentenceTransformer, examples: Sequence[TrainExample], config: TrainConfig,
                  on_step: StepCallback | None = None, show_progress: bool = True) -> TrainResult:
    """AdamW with linear warm-up and decay; `on_step(step, {"loss", "lr", "epoch"})` after each step.
    The plain student: `merge_shares` is applied afterwards by training.merge.choose_merge (distill does), as
    choosing a share needs the dev split."""
    if not examples:
        raise ValueError("no training examples: label some candidate sets first")
    started = time.perf_counter()
    result = TrainResult(trained_queries=len(examples))
    random.seed(config.seed)
    torch.manual_seed(config.seed)
    model.max_seq_length = config.max_seq_length
    if config.gradient_checkpointing:
        model[0].auto_model.gradient_checkpointing_enable()
    model.train()
    batches_per_epoch = math.ceil(len(examples) / config.batch_queries)
    total = batches_per_epoch * config.epochs
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.learning_rate, weight_decay=config.weight_decay)
    schedule = warmup_then_decay(optimizer, total, config.warmup_fraction)
    order = list(range(len(examples)))
    rng = random.Random(config.seed)
    bar = tqdm(total=total, desc=f"train ({config.objective})", unit="step", disable=not show_progress)
    for epoch in range(config.epochs):
        rng.shuffle(order)
        losses = []
        for b in range(batches_per_epoch):
            batch = [examples[i] for i in order[b * config.batch_queries:(b + 1) * config.batch_queries]]
            loss = batch_loss(model, batch, config)
            if not torch.isfinite(loss):
                raise NonFiniteLossError(diverged(f"training loss is {loss.item()} at step {result.steps + 1}",
                                                  config))
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            schedule.step()
            result.steps += 1
            losses.append(loss.item())
            bar.update(1)
            bar.set_postfix(loss=f"{losses[-1]:.4f}")
            if on_step:
                on_step(result.steps, {"loss": losses[-1], "lr": schedule.get_last_lr()[0], "epoch": epoch})
        result.epoch_losses.append(sum(losses) / len(losses))
    bar.close()
    if not all(torch.isfinite(p).all() for p in model.parameters()):  # the last step's update
        raise NonFiniteLossError(diverged(f"the student's weights are not finite after step {result.steps}", config))
    model.eval()
    result.seconds = time.perf_counter() - started
    return result

