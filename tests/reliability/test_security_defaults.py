"""Security defaults (issue #27): students load from safetensors only unless UAE_ALLOW_PICKLE=1 (a pickle
runs code when loaded), without breaking the packaged default student or tiny test students (the CLI's
case is cases.py `evaluate_pickle_only_student`); the MLflow server script binds 127.0.0.1 unless
MLFLOW_HOST says otherwise, and the Kubernetes manifest admits only the namespace's pods."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest
import yaml

from tests.helpers import REPO
from uae_core.retrieval.encoder import load_student
from uae_core.weights import DEFAULT_STUDENT, check_safetensors, packaged_location


def _pickled_copy(student, dst):
    from tests.reliability.cases import pickled_student

    return pickled_student(student, dst)


def test_the_packaged_and_tiny_students_are_safetensors_and_load(tiny_student_dir):
    packaged = packaged_location(DEFAULT_STUDENT)[0]
    assert (packaged / "model.safetensors").is_file() and not list(packaged.glob("*.bin"))
    check_safetensors(str(packaged))
    assert (tiny_student_dir / "model.safetensors").is_file()
    assert load_student(str(tiny_student_dir), 32).encode(["a question"]).shape == (1, 32)


def test_a_pickle_only_student_is_refused_with_one_line_naming_the_folder_and_the_opt_in(tmp_path, monkeypatch,
                                                                                          tiny_student_dir):
    monkeypatch.delenv("UAE_ALLOW_PICKLE", raising=False)
    pickled = _pickled_copy(tiny_student_dir, tmp_path / "pickled")
    before = sorted(p.name for p in pickled.iterdir())
    with pytest.raises(ValueError) as caught:
        load_student(str(pickled), 32)
    message = str(caught.value)
    assert "\n" not in message and message.startswith(f"{pickled}: student weights only as a pickle")
    assert "pytorch_model.bin" in message and "UAE_ALLOW_PICKLE=1" in message
    assert sorted(p.name for p in pickled.iterdir()) == before
    monkeypatch.setenv("UAE_ALLOW_PICKLE", "1")  # the user's opt-in
    assert load_student(str(pickled), 32).encode(["a question"]).shape == (1, 32)


def test_a_pickled_module_folder_is_refused_too(tmp_path, monkeypatch, tiny_student_dir):
    monkeypatch.delenv("UAE_ALLOW_PICKLE", raising=False)
    student = tmp_path / "st"
    shutil.copytree(tiny_student_dir, student)
    (student / "2_Dense").mkdir()
    (student / "2_Dense" / "pytorch_model.bin").write_bytes(b"not loaded")
    with pytest.raises(ValueError, match=r"2_Dense: student weights only as a pickle"):
        load_student(str(student), 32)


def _server_args(env_extra: dict) -> list[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("MLFLOW_HOST", "MLFLOW_APP_NAME")}
    env.update({"MLFLOW": "echo", "MLFLOW_BACKEND_STORE_URI": "sqlite:////tmp/x.db",
                "MLFLOW_ARTIFACTS_DESTINATION": "/tmp/artifacts", **env_extra})
    return subprocess.run(["bash", str(REPO / "deploy" / "mlflow" / "server.sh")], env=env, capture_output=True,
                          text=True, check=True).stdout.split()


def test_the_mlflow_server_script_binds_localhost_unless_told_otherwise():
    args = _server_args({})
    assert args[args.index("--host") + 1] == "127.0.0.1" and "--app-name" not in args
    wide = _server_args({"MLFLOW_HOST": "0.0.0.0", "MLFLOW_APP_NAME": "basic-auth"})
    assert wide[wide.index("--host") + 1] == "0.0.0.0" and wide[wide.index("--app-name") + 1] == "basic-auth"
    readme = (REPO / "deploy" / "README.md").read_text()
    assert "Authentication: before the server listens beyond this machine" in readme
    assert ("auth_basic" in readme and "--app-name" in readme) or "MLFLOW_APP_NAME=basic-auth" in readme


def test_the_kubernetes_manifest_admits_only_the_namespaces_pods():
    docs = {d["kind"]: d for d in yaml.safe_load_all((REPO / "deploy" / "mlflow" / "k8s.yaml").read_text())}
    policy = docs["NetworkPolicy"]["spec"]
    pod_labels = docs["Deployment"]["spec"]["template"]["metadata"]["labels"]
    assert policy["podSelector"]["matchLabels"].items() <= pod_labels.items()
    assert policy["policyTypes"] == ["Ingress"] and policy["ingress"] == [
        {"from": [{"podSelector": {}}], "ports": [{"port": "http"}]}]
