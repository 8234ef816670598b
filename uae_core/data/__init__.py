"""Data: a domain's source in, passages and questions out (one loader per format, one schema for all)."""

from uae_core.data.formats import LOADERS, describe_source, detect_format, load_corpus
from uae_core.data.schema import (
    Corpus,
    DataFormatError,
    LoadOptions,
    LoadReport,
    Passage,
    Query,
    SourceFile,
    file_sha256,
)
from uae_core.data.splits import fixed_subset, hash_order, split_for_document

__all__ = ["LOADERS", "Corpus", "DataFormatError", "LoadOptions", "LoadReport", "Passage", "Query", "SourceFile",
           "describe_source", "detect_format", "file_sha256", "fixed_subset", "hash_order", "load_corpus",
           "split_for_document"]
