"""The world a run is stopped in (tests/reliability/test_kill.py): 300 synthetic papers with
the tiny models, so labeling lasts long enough to stop, and a progress line every second to wait for."""

import pytest

from tests.reliability.world import make_world


@pytest.fixture
def world(tmp_path, tiny_student_dir, tiny_teacher_dir):
    world = make_world(tmp_path, tiny_student_dir, tiny_teacher_dir, papers=300)
    world.overrides["UAE_PROGRESS_SECONDS"] = "1"
    return world
