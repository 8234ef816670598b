"""The training key's code part is a digest of the training code itself: editing a loss changes it (a
registered version is never reused for code that trains differently); a comment does not."""

import shutil

from tests.training.test_trainer import _examples
from uae_core.training.examples import TRAINING_CODE, training_code_digest, training_key
from uae_core.training.trainer import TrainConfig


def _copy_of_the_code(tmp_path):
    root = tmp_path / "uae_core"
    shutil.copytree(TRAINING_CODE, root / "training")
    (root / "retrieval").mkdir()
    shutil.copy(TRAINING_CODE.parent / "retrieval" / "encoder.py", root / "retrieval" / "encoder.py")
    return root / "training"


def test_editing_a_loss_body_changes_the_training_key(tmp_path):
    training = _copy_of_the_code(tmp_path)
    assert training_code_digest(training) == training_code_digest()  # the same code, wherever it lies
    before = training_key(_examples(), TrainConfig(), "base", training_code_digest(training))

    loss = training / "losses" / "kl_distillation.py"
    loss.write_text(loss.read_text() + "\n# a comment changes nothing that trains\n")
    assert training_key(_examples(), TrainConfig(), "base", training_code_digest(training)) == before

    text = loss.read_text()
    assert "return (p * (log_p - log_q)).sum(-1).mean()" in text
    loss.write_text(text.replace("return (p * (log_p - log_q)).sum(-1).mean()",
                                 "return (p * (log_p - log_q)).sum(-1).sum()"))
    assert training_key(_examples(), TrainConfig(), "base", training_code_digest(training)) != before


def test_the_student_forward_pass_is_part_of_the_training_code(tmp_path):
    training = _copy_of_the_code(tmp_path)
    before = training_code_digest(training)
    encoder = training.parent / "retrieval" / "encoder.py"
    encoder.write_text(encoder.read_text() + "\nEXTRA = 1\n")
    assert training_code_digest(training) != before
