"""What the training benches share: labels for a label budget through the pipeline's own steps, a student
trained by the pipeline's training step, and scores on dev and test (the base encoder's computed once per
workdir), so every bench compares students the same way.

A bench's workdir holds `sets.json` (the label stage's candidate sets, in train order) and `labels.duckdb`
(their teacher labels); a budget "N:K" trains on the first N sets, cut to their first K candidates.
"""

from __future__ import annotations

import json
from pathlib import Path

from uae_core.evaluation.compare import split_result
from uae_core.labeling.candidates import CandidateConfig, CandidateSet
from uae_core.retrieval.encoder import load_student

HEADLINE_METRICS = ("success@1", "map")  # the two a bench's tables show (uae_core.evaluation.metrics has all)
SPLITS = ("dev", "test")  # dev: what uae_encoder's promotion uses; test: the held-out report


def scores(model, corpus, domain, cache: Path, per_query: bool = False) -> dict:
    """{split: {metric: value}} on the domain's dev and test questions, in its scope; with `per_query`, also
    {"per_query": {split: {question id: success@1}}} for paired comparisons between students."""
    out, hits = {}, {}
    for split in SPLITS:
        result = split_result(model, corpus.passages, corpus.queries, domain.scope, cache, split)
        metrics = result[1].metrics if result else {}
        out[split] = {m: round(metrics[m], 4) for m in HEADLINE_METRICS}
        if result:
            hits[split] = dict(zip(result[0], result[1].per_query["success@1"].astype(int).tolist()))
    return {**out, "per_query": hits} if per_query else out


def score_cells(row: dict) -> str:
    """A record's dev and test R@1 / MAP as four Markdown table cells (what the training benches' pages show)."""
    return " | ".join(f"{row[split][m]:.3f}" for split in SPLITS for m in HEADLINE_METRICS)


def base_scores(workdir: Path, student: str, corpus, domain) -> dict:
    """The untrained student's scores, kept in <workdir>/base.json."""
    path = workdir / "base.json"
    if not path.is_file():
        path.write_text(json.dumps(scores(load_student(student), corpus, domain, workdir / "cache")))
    return json.loads(path.read_text())


def load_teacher_for(model: str):
    from uae_assets.domains import data_dir
    from uae_core.labeling.teacher import TeacherConfig, load_teacher

    # Gemma-family teachers need BOS (TeacherConfig.add_bos); the benches take a teacher by name only
    return load_teacher(TeacherConfig(model=model, add_bos="gemma" in model.lower()), cache_dir=data_dir() / "models")


def label_stage(workdir: Path, corpus, domain, k: int, questions: int, student: str, teacher: str) -> dict:
    """Candidate sets of the first `questions` train questions (0 = all) at K = `k` from candidate_sets'
    build_sticky (BM25 + the base encoder, the domain's scope), labeled by utility_labels' steps (label_pairs)
    into <workdir>/labels.duckdb; the sets go to <workdir>/sets.json. Only missing labels are computed."""
    from uae_core.labeling.shards import chunks_beside
    from uae_core.pipeline import build_sticky, label_pairs

    config = CandidateConfig(k=k, max_train_queries=questions)
    result = build_sticky(corpus.passages, corpus.queries, config, domain.scope, load_student(student),
                          workdir / "candidates.json", workdir / "cache")
    (workdir / "sets.json").write_text(json.dumps({s.query_id: list(s.passage_ids) for s in result.sets}))
    model = load_teacher_for(teacher)
    db = workdir / "labels.duckdb"
    _, stats = label_pairs(model, db, chunks_beside(db), result.sets, {q.query_id: q for q in corpus.queries},
                           {p.passage_id: p for p in corpus.passages}, show_progress=True)
    record = {"k": k, "questions": len(result.sets), "gold_recall": result.gold_recall,
              "teacher_id": model.teacher_id, "labeling": stats.as_dict()}
    (workdir / "label.json").write_text(json.dumps(record, indent=1))
    return record


def budget_examples(workdir: Path, corpus, budget: str, teacher_id: str) -> tuple[list[CandidateSet], list]:
    """A label budget "N:K" of the label stage in `workdir`: its first N sets cut to their first K candidates,
    and their training examples from the teacher's labels in <workdir>/labels.duckdb."""
    from uae_core.labeling.label_store import LabelStore
    from uae_core.training.examples import build_examples

    raw = json.loads((workdir / "sets.json").read_text())  # the label stage's, in train order
    n, k = (int(x) for x in budget.split(":"))
    sets = [CandidateSet(q, tuple(p[:k])) for q, p in list(raw.items())[:n]]
    with LabelStore.open(workdir / "labels.duckdb", read_only=True) as store:
        utilities = store.utilities(teacher_id, [s.query_id for s in sets])
    return sets, build_examples(sets, utilities, {q.query_id: q for q in corpus.queries},
                                {p.passage_id: p for p in corpus.passages})
