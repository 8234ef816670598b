"""Teacher backends: the same prompts and scores, run by transformers (any machine) or vLLM."""
