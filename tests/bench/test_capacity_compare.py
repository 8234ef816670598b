"""bench.capacity --compare: two students' quality rows compared question by question."""

import json

import pytest

from bench.capacity import compare, main


def _row(student: str, dev: list[int], test: list[int]) -> dict:
    return {"student": student, "domain": "covidqa", "pairs": 800, "seed": 0,
            "per_query": {"dev": {f"d{i}": v for i, v in enumerate(dev)},
                          "test": {f"t{i}": v for i, v in enumerate(test)}}}


def test_the_difference_is_the_other_minus_the_baseline_per_split(tmp_path, capsys):
    baseline = _row("minilm", [1, 1, 0, 0], [0, 0, 0, 0, 1])
    other = _row("mpnet", [0, 1, 0, 0], [1, 1, 0, 0, 1])
    lines = compare(baseline, other)
    assert lines[1].startswith("  dev (4 questions): -25.0 [")
    assert lines[2].startswith("  test (5 questions): +40.0 [")
    for name, row in (("a.json", baseline), ("b.json", other)):
        (tmp_path / name).write_text(json.dumps({"speed": [], "quality": [row]}))
    assert main(["--compare", str(tmp_path / "a.json"), str(tmp_path / "b.json")]) == 0
    assert "mpnet - minilm" in capsys.readouterr().out


def test_rows_scored_on_different_questions_are_refused():
    with pytest.raises(ValueError, match="different questions"):
        compare(_row("a", [1, 0], [1]), _row("b", [1, 0, 1], [1]))


def test_set_names_the_changed_settings_and_refuses_a_wrong_one():
    from bench.capacity import label, parse_settings

    settings = parse_settings(["epochs=1", "merge_shares=[0, 0.5]"])
    assert settings == {"epochs": 1, "merge_shares": [0, 0.5]}
    assert label({**_row("minilm", [1], [1]), "settings": {"epochs": 1}}) == "minilm epochs=1"
    with pytest.raises(SystemExit, match="epoch=1"):
        parse_settings(["epoch=1"])
    with pytest.raises(SystemExit, match="epochs=0"):
        parse_settings(["epochs=0"])
