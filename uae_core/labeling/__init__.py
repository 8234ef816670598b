"""Labeling: candidate sets, the teacher (and its backends), answer policies, and utility labels in DuckDB."""
