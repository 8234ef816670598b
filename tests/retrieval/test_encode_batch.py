"""encode's batch size: small on a CPU (ENCODE_BATCH, docs/encode_batch.md), and the batch size never changes
what a text encodes to beyond float rounding."""

import numpy as np

from uae_core.retrieval.encoder import ENCODE_BATCH, encode, encode_batch_size, load_student


def test_a_cpu_model_encodes_in_small_batches_with_the_same_embeddings(tiny_student_dir):
    model = load_student(str(tiny_student_dir))
    assert encode_batch_size(model) == ENCODE_BATCH["cpu"] < ENCODE_BATCH["cuda"]
    texts = [("word " * n).strip() for n in range(1, 40)]
    default, one_batch = encode(model, texts), encode(model, texts, batch_size=len(texts))
    progress = encode(model, texts, show_progress=True)
    assert default.shape[0] == len(texts) and np.allclose(np.linalg.norm(default, axis=1), 1, atol=1e-5)
    assert np.abs(default - one_batch).max() < 1e-5 and np.abs(default - progress).max() < 1e-5
