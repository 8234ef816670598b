"""Evaluation: retrieval metrics, Token F1 of the teacher's answers, bootstrap intervals, and reports of
every system side by side."""
