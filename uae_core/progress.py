"""Progress lines with a time left users can trust: `utility labels: 352/1600 (22%), 2.10/s, 9m55s left`.

The clock starts at the first report, so what happens before the work (loading a teacher, a model, a
corpus) does not drag the rate down and inflate the first estimates. Work in uae_core that takes long
reports through `logger` ("uae_core.progress"); the Dagster instance forwards the `uae_core` loggers into
the run's event log (dagster.yaml `python_logs`), so these lines reach the UI and `uae materialize`.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

logger = logging.getLogger("uae_core.progress")


def every_seconds_default() -> float:
    """10 s: with reports a labeling chunk apart (32 pairs, ~10 s here) a line comes with each chunk, with
    faster ones (encode batches, training steps) about every 10 s: under the 20 s a watching user reads as a
    hang."""
    return float(os.environ.get("UAE_PROGRESS_SECONDS", 10))


def duration(seconds: float) -> str:
    seconds = max(0, round(seconds))
    if seconds >= 3600:
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
    return f"{seconds // 60}m{seconds % 60:02d}s"


class Progress:
    """A (done, total) callback that emits a line at the first report, then when `every_seconds` have passed
    or the next report, as far apart as the last two, would come after them, and at the end; the rate and
    time left are measured from the first report. So the log is silent for at most about `every_seconds`
    or one report's interval, whichever is longer (not their sum)."""

    def __init__(self, what: str, emit: Callable[[str], None] = logger.info, every_seconds: float | None = None,
                 unit: str = ""):
        self.what, self.emit, self.unit = what, emit, f" {unit}" if unit else ""
        self.every = every_seconds_default() if every_seconds is None else every_seconds
        self.start: tuple[float, int] | None = None
        self.last = 0.0  # the last line
        self.called = 0.0  # the last report

    def note(self, text: str) -> None:
        """A line now, outside the clock: what happens before the counted work starts (loading a model)."""
        self.emit(f"{self.what}: {text}")

    @contextmanager
    def waiting(self, doing: str, every_seconds: float = 10.0) -> Iterator[None]:
        """A line now and every `every_seconds` while work that cannot count itself runs (loading a model,
        converting a packaged one the first time), outside the clock: `utility labels: loading the teacher,
        20s so far`. Without it a user watching the log sees a hang."""
        self.note(doing)
        started, stop = time.monotonic(), threading.Event()

        def beat() -> None:
            while not stop.wait(every_seconds):
                self.emit(f"{self.what}: {doing}, {duration(time.monotonic() - started)} so far")

        thread = threading.Thread(target=beat, daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join()

    def __call__(self, done: int, total: int) -> None:
        now = time.monotonic()
        head = f"{self.what}: {done}/{total}{self.unit} ({done / max(total, 1):.0%})"
        if self.start is None:
            self.start, self.last, self.called = (now, done), now, now
            if done < total:
                self.emit(f"{head}, started")
                return
        gap, self.called = now - self.called, now
        if done < total and now - self.last < self.every and now - self.last + gap <= self.every:
            return
        self.last = now
        seconds, counted = now - self.start[0], done - self.start[1]
        rate = counted / seconds if seconds > 0 else 0.0
        left = "done" if done >= total else (f"{duration((total - done) / rate)} left" if rate > 0
                                             else "time left unknown")
        shown = f"{rate:,.0f}" if rate >= 100 else f"{rate:.2f}"
        self.emit(f"{head}, {shown}{self.unit}/s, {left}")
