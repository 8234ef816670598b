"""The one line `uae materialize` prints for a failed step: the user's exception, not Dagster's wrapper nor a
library's link line; a full disk anywhere in the chain is named as such, with the fix."""

from types import SimpleNamespace

from dagster._utils.error import SerializableErrorInfo

from uae_assets.launch import _error_message


def _event(error: SerializableErrorInfo):
    return SimpleNamespace(event_specific_data=SimpleNamespace(error=error), message="step failed")


def _error(message: str, cls_name: str, cause=None, context=None) -> SerializableErrorInfo:
    return SerializableErrorInfo(message, [], cls_name, cause, context)


def test_the_users_exception_without_sqlalchemys_detail_lines():
    user = _error("OperationalError: (sqlite3.OperationalError) database is locked\n[SQL: INSERT ...]\n"
                  "(Background on this error at: https://sqlalche.me/e/21/e3q8)", "OperationalError")
    wrapped = _error("dagster._core.errors.DagsterExecutionStepExecutionError: Error occurred", "DagsterExecution"
                     "StepExecutionError", cause=user)
    assert _error_message(_event(wrapped)) == "OperationalError: (sqlite3.OperationalError) database is locked"


def test_a_full_disk_anywhere_in_the_chain_is_named_with_the_fix(monkeypatch, tmp_path):
    monkeypatch.setenv("UAE_DATA_DIR", str(tmp_path))
    disk = _error("OSError: [Errno 28] No space left on device", "OSError")
    later = _error("MlflowException: could not log the model", "MlflowException", context=disk)
    wrapped = _error("DagsterExecutionStepExecutionError: Error occurred", "DagsterExecutionStepExecutionError",
                     cause=later)
    assert _error_message(_event(wrapped)) == (
        f"the disk is full (No space left on device) under {tmp_path}: free space there, then run the same "
        "command; the labels, models and indexes stored so far are kept")
