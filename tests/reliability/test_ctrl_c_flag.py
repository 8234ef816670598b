"""Ctrl-C while following a run is taken at the poll loop's safe point, not wherever the main thread is (in
CI it landed inside SQLAlchemy closing a connection, which printed that library's stack trace)."""

import os
import signal
import time

import pytest

from uae_assets.launch import ctrl_c_at_safe_points


def test_ctrl_c_is_held_until_the_loop_checks_and_the_handler_is_restored():
    before = signal.getsignal(signal.SIGINT)
    with ctrl_c_at_safe_points() as ctrl_c:
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(0.05)  # no KeyboardInterrupt here: the handler only counts it
        assert ctrl_c.count == 1
        started = time.monotonic()
        with pytest.raises(KeyboardInterrupt):
            ctrl_c.wait(10)
        assert time.monotonic() - started < 1  # raised at once, not after the poll interval
    assert signal.getsignal(signal.SIGINT) is before
