"""bench/yes_no.py end to end on a synthetic domain with yes/no answers and tiny random models: both
policies are labeled in one store (the yes/no questions differ, nothing else), a student per policy is
trained and scored, and the page renders from the records. bench/weight_merge.py then reads the same labels:
every merge share is scored from one training, and share 0 is yes_no's own student; bench/fusion_tuning.py
tunes the hybrids on the three question sets it compares."""

import json

import duckdb

from tests.helpers import answer, load_bench, make_paper, make_qa, synthetic_qasper


def test_yes_no_bench_labels_trains_renders_and_weight_merge_reads_its_labels(tmp_path, monkeypatch, tiny_student_dir,
                                                                              tiny_teacher_dir):
    papers = synthetic_qasper(16)
    for i, (pid, paper) in enumerate(papers.items()):  # every other paper's 2nd question is answered "Yes"
        if i % 2:
            evidence = paper["full_text"][0]["paragraphs"][1]
            papers[pid] = make_paper(paper["full_text"][0]["paragraphs"], [
                paper["qas"][0], make_qa(f"p{i}-yn", f"Is accuracy measured in paper {i}?",
                                         answer(yes_no=True, evidence=[evidence]))])
    (tmp_path / "d.json").write_text(json.dumps(papers))
    (tmp_path / "domains.yaml").write_text(f"default: d\ndomains:\n  d:\n    path: {tmp_path / 'd.json'}\n")
    monkeypatch.setenv("UAE_DOMAINS", str(tmp_path / "domains.yaml"))
    monkeypatch.setenv("UAE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    common = ["--domain", "d", "--student", str(tiny_student_dir), "--teacher", str(tiny_teacher_dir)]
    bench = load_bench("yes_no")  # in-process: no interpreter start per stage
    for stage in (["label", "--k", "3"], ["train", "--budget", "8:3"], ["doc"]):
        assert bench.main(["--stage", *stage, *common, "--out", str(tmp_path / "yes_no.md")]) == 0
    work = tmp_path / "data" / "yes_no"
    label = json.loads((work / "label.json").read_text())
    score, drop = label["policies"]["score"], label["policies"]["drop"]
    assert score["teacher_id"] != drop["teacher_id"]
    assert score["labeling"]["pairs_total"] == drop["labeling"]["pairs_total"] > 0
    with duckdb.connect(str(work / "labels.duckdb"), read_only=True) as con:
        rows = con.execute("SELECT teacher_id, query_id, passage_id, utility FROM utility_labels").fetchall()
    by = {tid: {(q, p): u for t, q, p, u in rows if t == tid} for tid in (score["teacher_id"], drop["teacher_id"])}
    differ = {q for (q, p), u in by[drop["teacher_id"]].items() if abs(u - by[score["teacher_id"]][q, p]) > 1e-6}
    assert differ and all(q.endswith("-yn") for q in differ)  # only the yes/no questions are labeled otherwise
    runs = [json.loads(line) for line in (work / "train.jsonl").read_text().splitlines()]
    assert [r["policy"] for r in runs] == ["score", "drop"] and all(0 <= r["test"]["map"] <= 1 for r in runs)
    page = (tmp_path / "yes_no.md").read_text()
    assert "| yes/no |" in page and "## Students distilled from each policy's labels" in page
    assert "| 8 x 3 | 2 | score | 1 |" in page and "| 8 x 3 | 2 | drop | 1 |" in page  # the means table

    out = tmp_path / "weight_merge.md"
    merge = load_bench("weight_merge")
    for stage in (["train", "--budget", "8:3", "--shares", "-0.5", "0", "0.5"], ["doc"]):
        assert merge.main(["--stage", *stage, *common, "--out", str(out)]) == 0
    merged = [json.loads(line) for line in (work / "weight_merge.jsonl").read_text().splitlines()]
    assert [r["share"] for r in merged] == [-0.5, 0.0, 0.5] and len({r["train_s"] for r in merged}) == 1
    assert (merged[1]["dev"], merged[1]["test"]) == (runs[0]["dev"], runs[0]["test"])  # share 0: the plain student
    page = out.read_text()
    assert page.count("| 8 x 3 |") == 4 and "| 8 x 3 | +0.50 | 1 |" in page
    chosen = max((0.0, 0.5), key=lambda s: (sum(merged[[-0.5, 0.0, 0.5].index(s)]["dev"].values()), -s))
    chosen_row = merged[[-0.5, 0.0, 0.5].index(chosen)]  # the pipeline's rule on these dev scores, by hand
    assert f"| 8 x 3 | dev-chosen | 1 | {chosen_row['dev']['success@1']:.3f} |" in page
    assert f"{chosen_row['test']['success@1']:.3f} (s {chosen:g}) |" in page

    # bench/fusion_tuning.py on the same labels: each hybrid tuned on dev, dev + unseen documents' train
    # questions (the pipeline's tuning_questions), dev + every unused train question; two rules, two encoders.
    from uae_core.data import load_corpus
    from uae_core.evaluation.compare import tuning_questions

    out = tmp_path / "fusion_tuning.md"
    tuning = load_bench("fusion_tuning")
    assert tuning.main([*common, "--workdir", str(work), "--budget", "8:3", "--out", str(out)]) == 0
    rows = [line for line in out.read_text().splitlines() if line.startswith("| d | 0 |")]
    assert len(rows) == 2 * 3 * 2
    corpus = load_corpus(tmp_path / "d.json", "qasper")
    trained = list(json.loads((work / "sets.json").read_text()))[:8]
    counts = {name: len(tuning_questions(*args)) for name, args in {
        "dev": (corpus.queries, None), "+ unseen docs": (corpus.queries, trained),
        "+ all unused": ([q for q in corpus.queries if q.query_id not in trained], [])}.items()}
    assert counts["dev"] < counts["+ unseen docs"] < counts["+ all unused"]  # the synthetic papers allow each
    for name, n in counts.items():
        assert sum(f"| {name} | {n} |" in row for row in rows) == 4, name
