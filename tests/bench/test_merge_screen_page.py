"""bench.merge_screen's page: each share's row, which share each rule kept, and how often they agree (rows as
measure() writes them; no training here)."""

from bench.merge_screen import page


def row(seed, screen, whole):
    shares = {str(s): {"screen": {}, "screen_score": screen[s], "screen_s": 5.0, "whole": {
        "dev": {}, "test": {"success@1": 0.2, "map": 0.25}}, "whole_score": whole[s], "whole_s": 50.0}
        for s in (0.0, 0.5)}
    return {"domain": "d", "seed": seed, "passages": 1000, "pool": 300, "shares": shares,
            "chosen_screen": max(screen, key=screen.get), "chosen_whole": max(whole, key=whole.get)}


def test_the_page_marks_each_rules_share_and_counts_agreement():
    text = page([row(0, {0.0: 0.30, 0.5: 0.31}, {0.0: 0.20, 0.5: 0.21}),
                 row(1, {0.0: 0.32, 0.5: 0.31}, {0.0: 0.20, 0.5: 0.21})])
    assert "| d | 0 | 300 / 1000 | 0.5 | 0.3100 | 0.2100 | 0.200 / 0.250 | 5.0 | 50.0 | yes | yes |" in text
    assert "| d | 1 | 300 / 1000 | 0 | 0.3200 | 0.2000 | 0.200 / 0.250 | 5.0 | 50.0 | yes |  |" in text
    assert "keep the same share in 1 of 2 trainings" in text
