"""The student: a sentence-transformers dual encoder (shared weights for queries and passages).

Embeddings are L2-normalised, so inner product = cosine, which is what the FAISS index and the losses use.
Passage embeddings are cached on disk by the model's weights and the texts, so the base encoder's serve
both candidate generation and evaluation, and a trained version's serve both promotion and the index.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import torch
from sentence_transformers import SentenceTransformer

from uae_core.progress import Progress
from uae_core.weights import ALLOW_PICKLE, check_safetensors, resolve_student, student_load_kwargs


def load_student(spec: str, max_seq_length: int = 256, device: str = "cpu") -> SentenceTransformer:
    """`packaged:all-MiniLM-L6-v2`, a local directory or a Hugging Face id; safetensors weights only unless
    UAE_ALLOW_PICKLE=1 (uae_core.weights.check_safetensors)."""
    source = resolve_student(spec)
    check_safetensors(source)
    try:
        model = SentenceTransformer(source, device=device, model_kwargs=student_load_kwargs())
    except OSError as exc:
        if "safetensors" not in str(exc):
            raise
        raise ValueError(f"{spec}: no safetensors weights ({' '.join(str(exc).split())}); students load "
                         f"safetensors only: convert the model, or set {ALLOW_PICKLE}=1 if you trust it") from None
    model.max_seq_length = max_seq_length
    return model


def weights_digest(model: torch.nn.Module) -> str:
    """Hash of every parameter and buffer (name, shape, bytes): equal digests, equal embeddings. ~0.2 s
    for MiniLM, and right for a model trained in memory as for one loaded from anywhere."""
    digest = hashlib.sha256()
    for name, tensor in model.state_dict().items():
        digest.update(f"{name}:{tuple(tensor.shape)}:{tensor.dtype}".encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()[:16]


# Texts per forward pass in an encode. On a CPU small batches keep a layer's activations in cache: 8 was the
# fastest measured on this project's 2-core CPU, 1.31x batch 64 (docs/encode_batch.md); a GPU wants large ones.
ENCODE_BATCH = {"cpu": 8, "cuda": 64}


def encode_batch_size(model: SentenceTransformer) -> int:
    """The batch size for the model's device (ENCODE_BATCH; an accelerator other than CUDA: CUDA's)."""
    return ENCODE_BATCH.get(model.device.type, ENCODE_BATCH["cuda"])


def approx_tokens(model: SentenceTransformer, texts: list[str]) -> np.ndarray:
    """Each text's approximate token count (4 characters a token, at most max_seq_length): cheap enough to
    count progress and rates by, without running the tokenizer."""
    return np.minimum([len(t) // 4 + 2 for t in texts], model.max_seq_length or 512)


def encode(model: SentenceTransformer, texts: list[str], batch_size: int | None = None,
           show_progress: bool = False) -> np.ndarray:
    """float32 [n, dim], unit norm. Sorted by length (longest first, as sentence-transformers does) for
    speed; with `show_progress`, encoded a batch at a time with a progress line every
    $UAE_PROGRESS_SECONDS instead of a bar (a whole-corpus encode takes minutes on a CPU), counted in
    approximate tokens (4 characters, at most max_seq_length a text): the longest texts come first, so a
    count of texts would promise too much time left."""
    dim = (getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension)()
    batch_size = batch_size or encode_batch_size(model)
    if not texts:
        return np.zeros((0, dim), dtype=np.float32)
    order = np.argsort([-len(t) for t in texts], kind="stable")
    step = batch_size if show_progress else len(texts)  # a batch takes seconds at most here: never silent long
    tokens = approx_tokens(model, texts)[order].cumsum()
    report = Progress(f"encode {len(texts)} texts", unit="tokens") if show_progress else None
    if report:
        report(0, int(tokens[-1]))  # the clock starts here, after the model was loaded
    out = np.empty((len(texts), dim), dtype=np.float32)
    with torch.inference_mode():
        for start in range(0, len(texts), step):
            rows = order[start:start + step]
            out[rows] = model.encode([texts[i] for i in rows], batch_size=batch_size, normalize_embeddings=True,
                                     convert_to_numpy=True, show_progress_bar=False)
            if report:
                report(int(tokens[min(start + step, len(texts)) - 1]), int(tokens[-1]))
    return out


def cached_encode(model: SentenceTransformer, texts: list[str], cache_dir: str | Path, batch_size: int | None = None,
                  show_progress: bool = False) -> np.ndarray:
    """encode(), memoised on disk by (model weights, max_seq_length, texts)."""
    digest = hashlib.sha256("\x00".join(texts).encode()).hexdigest()[:16]
    path = Path(cache_dir) / f"{weights_digest(model)}-{model.max_seq_length}-{digest}.npy"
    if path.is_file():
        return np.load(path)
    emb = encode(model, texts, batch_size=batch_size, show_progress=show_progress)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".partial.npy")
    np.save(tmp, emb)
    tmp.replace(path)
    return emb


def embed_with_grad(model: SentenceTransformer, texts: list[str], chunk_size: int) -> torch.Tensor:
    """Differentiable, normalised embeddings for training.

    Texts go through the model in length-sorted chunks, each padded only to its own longest text: passages
    vary from ~30 to 256+ tokens, and padding a whole batch to the longest one wastes most of the compute
    (docs/bench_train_step.md). The result (and its gradient) is the same as one padded batch.
    """
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    parts = []
    for start in range(0, len(order), chunk_size):
        chunk = [texts[i] for i in order[start:start + chunk_size]]
        # `preprocess` where sentence-transformers has it (its `tokenize` warns that it is deprecated)
        features = model.preprocess(chunk) if hasattr(model, "preprocess") else model.tokenize(chunk)
        features = {k: v.to(model.device) if isinstance(v, torch.Tensor) else v for k, v in features.items()}
        parts.append(model(features)["sentence_embedding"])
    emb = torch.cat(parts)[torch.argsort(torch.tensor(order))]
    return torch.nn.functional.normalize(emb, dim=-1)
