"""BM25 over a passage list (bm25s, English stopwords), returning dense score vectors for scoping."""

from __future__ import annotations

import bm25s
import numpy as np


class BM25Index:
    def __init__(self, texts: list[str]):
        self._retriever = bm25s.BM25()
        self._retriever.index(bm25s.tokenize(texts, stopwords="en", show_progress=False), show_progress=False)

    def scores(self, query: str) -> np.ndarray:
        tokens = bm25s.tokenize([query], stopwords="en", return_ids=False, show_progress=False)[0]
        # bm25s raises on tokens absent from the vocabulary: keep only known ones.
        vocab = self._retriever.vocab_dict
        tokens = [t for t in tokens if t in vocab]
        if not tokens:
            return np.zeros(self._retriever.scores["num_docs"], dtype=np.float32)
        return self._retriever.get_scores(tokens).astype(np.float32)
