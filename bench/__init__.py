"""The benchmarks: each a module run from the repository root as `.venv/bin/python -m bench.NAME`, calling the
pipeline's own steps (uae_core.pipeline) with the variant it measures, and writing a page under docs/."""
