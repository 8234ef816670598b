"""The teacher on transformers: answer-only scoring with left padding and `logits_to_keep`.

Sequences are left-padded, so every target ends at the last position and `logits_to_keep` limits the LM
head to the target span: only those logits are computed (the vocabulary projection is most of the cost).
Requests are sorted by length before batching, so a batch pads to similar lengths.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from uae_core.labeling.prompts import left_pad
from uae_core.labeling.teacher import EncodedRequest, Teacher


class TransformersTeacher(Teacher):
    _model = None

    @property
    def model(self):
        if self._model is None:
            from transformers import AutoModelForCausalLM

            self._model = AutoModelForCausalLM.from_pretrained(self.source, dtype=getattr(torch, self.config.dtype))
            self._model.to(self.device).eval()
        return self._model

    @property
    def loaded(self) -> bool:
        return self._model is not None

    def load(self) -> None:
        self.model  # noqa: B018 (the property loads it)

    @torch.inference_mode()
    def _score_encoded(self, encoded: list[EncodedRequest]) -> list[tuple[float, int]]:
        order = sorted(range(len(encoded)), key=lambda i: len(encoded[i][0]) + len(encoded[i][1]))
        out: list[tuple[float, int]] = [(0.0, 0)] * len(encoded)
        bs = self.config.batch_size
        for start in range(0, len(order), bs):
            idx = order[start:start + bs]
            for i, value in zip(idx, self._score_batch([encoded[i] for i in idx])):
                out[i] = value
        return out

    def _score_batch(self, batch: list[EncodedRequest]) -> list[tuple[float, int]]:
        input_ids, attention = left_pad([p + t for p, t in batch], self.pad_id)
        max_target = max(len(t) for _, t in batch)
        positions = (attention.cumsum(-1) - 1).clamp(min=0)
        logits = self.model(input_ids=input_ids.to(self.device), attention_mask=attention.to(self.device),
                            position_ids=positions.to(self.device), logits_to_keep=max_target + 1).logits
        logprobs = torch.log_softmax(logits.float(), dim=-1)  # [b, max_target + 1, vocab]
        results = []
        for row, (_, target) in enumerate(batch):
            n = len(target)
            predicting = logprobs[row, -(n + 1):-1]  # logits at position t predict token t + 1
            ll = predicting.gather(-1, torch.tensor(target, device=predicting.device)[:, None]).squeeze(-1)
            results.append((float(ll.mean()), n))
        return results

    @torch.inference_mode()
    def _generate(self, prompts: Sequence[list[int]], max_new_tokens: int, batch_size: int) -> list[str]:
        order = sorted(range(len(prompts)), key=lambda i: len(prompts[i]))
        out = [""] * len(prompts)
        for start in range(0, len(order), batch_size):
            idx = order[start:start + batch_size]
            input_ids, attention = left_pad([prompts[i] for i in idx], self.pad_id)
            generated = self.model.generate(input_ids=input_ids.to(self.device),
                                            attention_mask=attention.to(self.device),
                                            max_new_tokens=max_new_tokens, do_sample=False, pad_token_id=self.pad_id)
            for row, i in enumerate(idx):
                out[i] = self.tokenizer.decode(generated[row, input_ids.shape[1]:], skip_special_tokens=True)
        return out
