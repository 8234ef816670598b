"""Every case of the catalogue (cases.py) against the real CLI in a world that already holds a trained
domain: the exit code, a one-line error naming file / record / field, no traceback, and nothing stored
(labels, registered versions, the champion, indexes) lost or changed. Cases run in forked children of one
process that imported the CLI's dependencies once (forked_cli.py); `--debug` runs as a process of its own."""

import dataclasses

import pytest

from tests.reliability.cases import CASES, FAULTS
from tests.reliability.world import make_world

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def trained_world(tmp_path_factory, tiny_student_dir, tiny_teacher_dir):
    world = make_world(tmp_path_factory.mktemp("catalogue"), tiny_student_dir, tiny_teacher_dir)
    done = world.uae("materialize", "--config", str(world.run_config()))
    assert done.returncode == 0, done.stderr[-3000:]
    before = world.stored()
    assert before["labels"][0] > 0 and before["versions"] == ["1"] and before["champion"] == ["1"]
    cli = world.forked()
    yield world, before, cli
    cli.close()


@pytest.mark.parametrize("case", [pytest.param(c, marks=[pytest.mark.slow] if c.slow else [])
                                  for c in CASES + FAULTS], ids=[c.name for c in CASES + FAULTS])
def test_bad_input_gets_a_clear_error_and_loses_nothing(trained_world, case):
    base, before, cli = trained_world
    world = dataclasses.replace(base, overrides={})
    after = case.setup(world)
    try:
        proc = cli.uae(world, *case.args(world))
    finally:
        if callable(after):  # setups of the older cases return whatever they wrote
            after()
    output = proc.stderr + proc.stdout
    assert proc.returncode == case.code, output[-2000:]
    for fragment in case.fragments:
        assert fragment in output, f"{fragment!r} not in:\n{output[-2000:]}"
    assert "Traceback" not in output
    if case.code:
        errors = [line for line in proc.stderr.splitlines() if line.startswith(("error:", "usage:", "uae: error"))]
        assert errors, proc.stderr[-2000:]
    assert world.stored() == before  # nothing already computed was lost or changed


def test_debug_shows_the_traceback(trained_world):
    world, _, _ = trained_world
    proc = world.uae("--debug", "materialize", "--domain", "nope")
    assert proc.returncode != 0 and "Traceback" in proc.stderr and "unknown domain 'nope'" in proc.stderr
