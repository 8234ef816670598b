"""Progress lines: the clock starts at the first report (loading before it does not count), lines come at
most every `every_seconds` and at the end; a whole-corpus encode reports through them."""

import logging

import numpy as np

from uae_core import progress
from uae_core.progress import Progress, duration


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def test_rate_and_time_left_count_from_the_first_report(monkeypatch):
    clock = Clock()
    monkeypatch.setattr(progress.time, "monotonic", clock)
    lines = []
    report = Progress("utility labels", lines.append, every_seconds=10)
    clock.now += 600  # ten minutes loading the teacher: not work
    report(0, 100)
    clock.now += 5
    report(10, 100)  # within every_seconds of the first line: quiet
    clock.now += 5
    report(20, 100)
    clock.now += 40
    report(100, 100)
    assert lines == ["utility labels: 0/100 (0%), started",
                     "utility labels: 20/100 (20%), 2.00/s, 0m40s left",
                     "utility labels: 100/100 (100%), 2.00/s, done"]


def test_a_line_comes_early_when_waiting_for_the_next_report_would_be_too_long(monkeypatch):
    """Reports 8 s apart with a 10 s interval: each one gets its line (the next would come 16 s after the
    last line), so the log is never silent for 16 s; reports 4 s apart get a line every second one (waiting
    for the third would leave 12 s without one)."""
    clock = Clock()
    monkeypatch.setattr(progress.time, "monotonic", clock)
    lines = []
    report = Progress("utility labels", lines.append, every_seconds=10)
    for done in range(0, 40, 8):
        report(done, 100)
        clock.now += 8
    assert len(lines) == 5
    quick = []
    report = Progress("training steps", quick.append, every_seconds=10)
    for done in range(0, 31):
        report(done, 100)
        clock.now += 4
    assert len(quick) == 1 + 30 // 2  # started, then every second report (8 s after the last line)


def test_a_first_report_past_zero_starts_the_clock_there(monkeypatch):
    clock = Clock()
    monkeypatch.setattr(progress.time, "monotonic", clock)
    lines = []
    report = Progress("training steps", lines.append, every_seconds=0)
    report(4, 10)
    clock.now += 2
    report(6, 10)
    assert lines == ["training steps: 4/10 (40%), started", "training steps: 6/10 (60%), 1.00/s, 0m04s left"]


def test_a_unit_is_shown_and_large_rates_read_as_whole_numbers(monkeypatch):
    clock = Clock()
    monkeypatch.setattr(progress.time, "monotonic", clock)
    lines = []
    report = Progress("encode 9 texts", lines.append, every_seconds=0, unit="tokens")
    report(0, 30000)
    clock.now += 2
    report(12000, 30000)
    assert lines[-1] == "encode 9 texts: 12000/30000 tokens (40%), 6,000 tokens/s, 0m03s left"


def test_duration_reads_as_minutes_or_hours():
    assert (duration(59.6), duration(605), duration(3 * 3600 + 125)) == ("1m00s", "10m05s", "3h02m")


def test_an_encode_with_progress_logs_lines_and_gives_the_same_embeddings(tiny_student_dir, caplog, monkeypatch):
    from uae_core.retrieval.encoder import encode, load_student

    monkeypatch.setenv("UAE_PROGRESS_SECONDS", "0")
    model = load_student(str(tiny_student_dir), max_seq_length=32)
    texts = [("word " * (i % 17 + 1)).strip() + f" {i}" for i in range(70)]
    with caplog.at_level(logging.INFO, logger="uae_core"):
        shown = encode(model, texts, batch_size=4, show_progress=True)  # slices of 4 texts
    quiet = encode(model, texts, batch_size=4)
    lines = [r.getMessage() for r in caplog.records if r.name == "uae_core.progress"]
    total = sum(min(len(t) // 4 + 2, 32) for t in texts)  # approximate tokens, at most max_seq_length a text
    assert lines[0] == f"encode 70 texts: 0/{total} tokens (0%), started"
    assert lines[-1].startswith(f"encode 70 texts: {total}/{total} tokens (100%), ") and lines[-1].endswith(", done")
    longest = sum(sorted((min(len(t) // 4 + 2, 32) for t in texts), reverse=True)[:4])  # the first slice
    assert lines[1].startswith(f"encode 70 texts: {longest}/{total} tokens")
    np.testing.assert_allclose(shown, quiet, atol=1e-5)  # same rows in the same order
    assert quiet.shape[0] == 70 and np.allclose(np.linalg.norm(quiet, axis=1), 1, atol=1e-5)


def test_waiting_says_what_it_waits_for_until_it_is_done():
    """Work that cannot count itself (a model loading) still shows the step is alive, and stops when done."""
    import time

    lines = []
    report = Progress("utility labels", lines.append)
    with report.waiting("loading the teacher", every_seconds=0.05):
        time.sleep(0.28)
    count = len(lines)
    time.sleep(0.15)
    assert lines[0] == "utility labels: loading the teacher"
    assert 3 <= count <= 7 and all(line.endswith(" so far") for line in lines[1:])
    assert len(lines) == count  # nothing after the work ended
