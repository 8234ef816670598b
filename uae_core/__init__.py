"""UAE, the method: loading, candidates, teacher utility, losses, training, retrieval, metrics (no Dagster)."""
