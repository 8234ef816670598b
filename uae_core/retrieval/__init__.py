"""Retrieval: the student encoder, BM25, FAISS, scopes, systems (rankers) and LLM re-ranking."""
