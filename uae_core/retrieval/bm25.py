"""BM25 over a passage list (bm25s, English stopwords), returning dense score vectors for scoping.

Saved beside a domain's FAISS index, so the query path (hybrid retrieval) does not re-index the corpus.
"""

from __future__ import annotations

from pathlib import Path

import bm25s
import numpy as np


class BM25Index:
    def __init__(self, texts: list[str] | None = None, retriever: bm25s.BM25 | None = None):
        if retriever is None:
            retriever = bm25s.BM25()
            retriever.index(bm25s.tokenize(texts or [], stopwords="en", show_progress=False), show_progress=False)
        self._retriever = retriever

    def scores(self, query: str) -> np.ndarray:
        tokens = bm25s.tokenize([query], stopwords="en", return_ids=False, show_progress=False)[0]
        # bm25s raises on tokens absent from the vocabulary: keep only known ones.
        vocab = self._retriever.vocab_dict
        tokens = [t for t in tokens if t in vocab]
        if not tokens:
            return np.zeros(self._retriever.scores["num_docs"], dtype=np.float32)
        return self._retriever.get_scores(tokens).astype(np.float32)

    def save(self, folder: str | Path) -> None:
        self._retriever.save(str(folder), show_progress=False)

    @classmethod
    def load(cls, folder: str | Path) -> BM25Index:
        return cls(retriever=bm25s.BM25.load(str(folder), show_progress=False))
