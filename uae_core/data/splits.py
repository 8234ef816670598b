"""Deterministic splits and subsets: by document-id hash, so all questions of a document share a split
and adding documents never moves an existing question to another split."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence

from uae_core.data.schema import LoadOptions, Query, Split


def split_for_document(doc_id: str, options: LoadOptions = LoadOptions()) -> Split:
    h = int(hashlib.sha1(f"{options.split_salt}:{doc_id}".encode()).hexdigest()[:8], 16) / 0xFFFFFFFF
    if h < options.test_fraction:
        return "test"
    if h < options.test_fraction + options.dev_fraction:
        return "dev"
    return "train"


def hash_order(queries: Iterable[Query]) -> list[Query]:
    """Queries in a fixed pseudo-random order (by id hash): spread over documents, and stable when
    documents are added, so a prefix of it is a fair, reproducible subset."""
    return sorted(queries, key=lambda q: hashlib.sha1(q.query_id.encode()).hexdigest())


def fixed_subset(queries: Sequence[Query], n: int) -> list[Query]:
    """The first n queries of `hash_order` (for the expensive systems); all, in their own order, when n is 0."""
    return hash_order(queries)[:n] if n else list(queries)
