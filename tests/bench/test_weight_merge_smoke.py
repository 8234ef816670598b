"""bench.weight_merge and bench.fusion_tuning end to end on a synthetic domain with tiny random models, in
process: the label stage goes through the pipeline's own steps (build_sticky, label_pairs) and a second run
labels nothing; every merge share is scored from one training (the pipeline's train_and_merge), the page
renders with the share the pipeline would keep; fusion_tuning tunes the hybrids on the three question sets it
compares."""

import json

import pytest

from bench import fusion_tuning, weight_merge
from tests.helpers import synthetic_qasper

pytestmark = pytest.mark.slow


def test_weight_merge_labels_trains_renders_and_fusion_tuning_reads_its_labels(tmp_path, monkeypatch,
                                                                                tiny_student_dir, tiny_teacher_dir):
    (tmp_path / "d.json").write_text(json.dumps(synthetic_qasper(16)))
    (tmp_path / "domains.yaml").write_text(f"default: d\ndomains:\n  d:\n    path: {tmp_path / 'd.json'}\n")
    monkeypatch.setenv("UAE_DOMAINS", str(tmp_path / "domains.yaml"))
    monkeypatch.setenv("UAE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    common = ["--domain", "d", "--student", str(tiny_student_dir), "--teacher", str(tiny_teacher_dir)]
    work = tmp_path / "data" / "weight_merge" / "d"

    assert weight_merge.main(["--stage", "label", "--k", "3", *common]) == 0
    label = json.loads((work / "label.json").read_text())
    sets = json.loads((work / "sets.json").read_text())
    assert label["questions"] == len(sets) > 8 and all(len(p) == 3 for p in sets.values())
    assert label["labeling"]["pairs_total"] == label["labeling"]["pairs_labeled_now"] == 3 * len(sets)
    assert (work / "candidates.json").is_file()  # candidate_sets' sticky state, in the bench's workdir
    assert weight_merge.main(["--stage", "label", "--k", "3", *common]) == 0  # again: nothing left to label
    again = json.loads((work / "label.json").read_text())["labeling"]
    assert again["pairs_labeled_now"] == 0 and again["pairs_reused"] == 3 * len(sets)

    out = tmp_path / "weight_merge.md"
    for stage in (["train", "--budget", "8:3", "--shares", "-0.5", "0", "0.5"], ["doc"]):
        assert weight_merge.main(["--stage", *stage, *common, "--out", str(out)]) == 0
    merged = [json.loads(line) for line in (work / "weight_merge.jsonl").read_text().splitlines()]
    assert [r["share"] for r in merged] == [-0.5, 0.0, 0.5] and len({r["train_s"] for r in merged}) == 1
    page = out.read_text()
    assert page.count("| 8 x 3 |") == 4 and "| 8 x 3 | +0.50 | 1 |" in page
    chosen = max((0.0, 0.5), key=lambda s: (sum(merged[[-0.5, 0.0, 0.5].index(s)]["dev"].values()), -s))
    chosen_row = merged[[-0.5, 0.0, 0.5].index(chosen)]  # the pipeline's rule on these dev scores, by hand
    assert f"| 8 x 3 | dev-chosen | 1 | {chosen_row['dev']['success@1']:.3f} |" in page
    assert f"{chosen_row['test']['success@1']:.3f} (s {chosen:g}) |" in page

    # bench.fusion_tuning on the same labels: each hybrid tuned on dev, dev + unseen documents' train questions
    # (the pipeline's tuning_questions), dev + every unused train question; two rules, two encoders.
    from uae_core.data import load_corpus
    from uae_core.evaluation.compare import tuning_questions

    out = tmp_path / "fusion_tuning.md"
    assert fusion_tuning.main([*common, "--budget", "8:3", "--out", str(out)]) == 0
    rows = [line for line in out.read_text().splitlines() if line.startswith("| d | 0 |")]
    assert len(rows) == 2 * 3 * 2
    corpus = load_corpus(tmp_path / "d.json", "qasper")
    trained = list(sets)[:8]
    counts = {name: len(tuning_questions(*args)) for name, args in {
        "dev": (corpus.queries, None), "+ unseen docs": (corpus.queries, trained),
        "+ all unused": ([q for q in corpus.queries if q.query_id not in trained], [])}.items()}
    assert counts["dev"] < counts["+ unseen docs"] < counts["+ all unused"]  # the synthetic papers allow each
    for name, n in counts.items():
        assert sum(f"| {name} | {n} |" in row for row in rows) == 4, name
