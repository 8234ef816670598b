"""UAE, the method (no Dagster), one subpackage per stage, in the order data flows:

    data/        a domain's source in (QASPER, BEIR, JSONL, Parquet, documents): passages, questions, splits
    retrieval/   the student encoder, BM25, FAISS, scopes, systems, LLM re-ranking
    labeling/    candidate sets, the teacher and its backends, utility labels in DuckDB
    training/    losses (one a file), training examples, the training loop
    evaluation/  metrics, Token F1, bootstrap intervals, every system side by side
    tracking/    MLflow runs, the model registry, the tracked training step (distill)
    weights.py   where model weights come from (packaged offline defaults, directories, Hugging Face ids)
"""
