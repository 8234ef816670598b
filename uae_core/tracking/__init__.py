"""Tracking, at the edge of the method: MLflow runs and experiments, the model registry, and the tracked
training step (distill) that the uae_encoder asset and the benchmark both call."""
