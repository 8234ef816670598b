"""MLflow as a tracking server (deploy/mlflow/): a real `mlflow server` process on 127.0.0.1 with a database
backend store (the session's PostgreSQL server when its binaries exist, else SQLite) and proxied artifacts
(--serve-artifacts, --artifacts-destination a temporary folder). Through the HTTP tracking URI only: an
experiment, a run with params, metrics and an artifact, a model version with an alias, read back; then the
project's own path (MLflowResource pointed at the server by UAE_MLFLOW_TRACKING_URI, uae_core.tracking's
configure / log_student / register_version / promote_if_better / download_version). The server's whole
process group is killed at the end."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.deploy.postgres import find_bindir, free_port
from tests.helpers import REPO

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore:Found version mismatch")]


def manifest_allowed_hosts() -> str:
    """The --allowed-hosts of deploy/mlflow/k8s.yaml's container, so the test serves what the cluster would."""
    import yaml

    docs = list(yaml.safe_load_all((REPO / "deploy" / "mlflow" / "k8s.yaml").read_text()))
    (deployment,) = [d for d in docs if d["kind"] == "Deployment"]
    args = deployment["spec"]["template"]["spec"]["containers"][0]["args"]
    return args[args.index("--allowed-hosts") + 1]


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def _stop(proc: subprocess.Popen) -> None:
    """SIGTERM to the server's process group (uvicorn and its worker), SIGKILL what is left after 15 s."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=15)
    deadline = time.monotonic() + 15
    while _group_alive(proc.pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    if _group_alive(proc.pid):
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=15)


@pytest.fixture(scope="module")
def server(tmp_path_factory, request):
    root = tmp_path_factory.mktemp("mlflow_server")
    if find_bindir() is not None:
        pg = request.getfixturevalue("postgres")
        pg.create_database("mlflow")
        backend = pg.url("mlflow", scheme="postgresql+psycopg2")  # psycopg2: SQLAlchemy 2.1 defaults to psycopg 3
    else:
        pg, backend = None, f"sqlite:///{root / 'mlflow.db'}"
    artifacts = root / "artifacts"
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
    log = (root / "server.log").open("w")
    cmd = [sys.executable, "-m", "mlflow", "server", "--backend-store-uri", backend, "--serve-artifacts",
           "--artifacts-destination", str(artifacts), "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
           "--allowed-hosts", manifest_allowed_hosts()]
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=root, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        start, deadline = time.monotonic(), time.monotonic() + 120
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"mlflow server exited ({proc.returncode}):\n"
                                   + (root / "server.log").read_text()[-4000:])
            with contextlib.suppress(OSError), urllib.request.urlopen(f"{url}/health", timeout=2) as resp:
                if resp.status == 200 and resp.read().strip() == b"OK":
                    break
            if time.monotonic() > deadline:
                raise RuntimeError("mlflow server not healthy after 120 s:\n"
                                   + (root / "server.log").read_text()[-4000:])
            time.sleep(0.5)
        print(f"mlflow server healthy after {time.monotonic() - start:.1f} s ({backend.split(':')[0]})")
        yield {"url": url, "artifacts": artifacts, "pg": pg, "proc": proc}
    finally:
        _stop(proc)
        log.close()
        assert not _group_alive(proc.pid), "mlflow server processes left behind"


def test_tracking_registry_and_artifacts_through_the_http_uri(server, tmp_path):
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=server["url"], registry_uri=server["url"])
    exp_id = client.create_experiment("deploy-smoke")
    assert client.get_experiment(exp_id).artifact_location.startswith("mlflow-artifacts:/")  # served by the server
    run = client.create_run(exp_id, tags={"domain": "smoke"})
    rid = run.info.run_id
    client.log_param(rid, "objective", "uae")
    for step, loss in enumerate([0.9, 0.5, 0.3]):
        client.log_metric(rid, "train_loss", loss, step=step)
    client.log_metric(rid, "dev_map", 0.42)
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "weights.txt").write_text("tiny weights\n")
    (tmp_path / "notes.md").write_text("# notes\n")
    client.log_artifact(rid, str(tmp_path / "notes.md"))
    client.log_artifacts(rid, str(tmp_path / "model"), artifact_path="model")
    client.set_terminated(rid)

    got = client.get_run(rid)
    assert got.data.params == {"objective": "uae"} and got.data.tags["domain"] == "smoke"
    assert got.data.metrics == {"train_loss": 0.3, "dev_map": 0.42} and got.info.status == "FINISHED"
    assert [m.value for m in client.get_metric_history(rid, "train_loss")] == [0.9, 0.5, 0.3]
    assert {f.path for f in client.list_artifacts(rid)} == {"notes.md", "model"}
    down = Path(client.download_artifacts(rid, "notes.md", str(tmp_path / "down")))
    assert down.read_text() == "# notes\n"
    # The bytes went through the server into its --artifacts-destination, not to a client-side folder.
    stored = list(server["artifacts"].rglob("notes.md"))
    assert len(stored) == 1 and rid in str(stored[0])

    client.create_registered_model("smoke-model")
    mv = client.create_model_version("smoke-model", f"{got.info.artifact_uri}/model", run_id=rid)
    client.set_registered_model_alias("smoke-model", "champion", mv.version)
    champ = client.get_model_version_by_alias("smoke-model", "champion")
    assert str(champ.version) == "1" and champ.run_id == rid
    local = Path(client.download_artifacts(rid, "model", str(tmp_path / "mv")))
    assert (local / "weights.txt").read_text() == "tiny weights\n"

    if server["pg"] is not None:  # and it is all in PostgreSQL
        con = server["pg"].connect("mlflow")
        try:
            with con.cursor() as cur:
                cur.execute("SELECT count(*) FROM runs WHERE run_uuid = %s AND status = 'FINISHED'", (rid,))
                assert cur.fetchone()[0] == 1
                cur.execute("SELECT count(*) FROM metrics WHERE run_uuid = %s AND key = 'train_loss'", (rid,))
                assert cur.fetchone()[0] == 3
                cur.execute("SELECT name, alias, version FROM registered_model_aliases")
                assert cur.fetchall() == [("smoke-model", "champion", 1)]
        finally:
            con.close()


def test_the_projects_tracking_code_against_the_server(server, tmp_path, monkeypatch, tiny_student_dir,
                                                         global_mlflow_uri_restored):
    import mlflow

    from uae_assets.resources import MLflowResource
    from uae_core.retrieval.encoder import load_student
    from uae_core.tracking import registry, runs

    monkeypatch.setenv("UAE_MLFLOW_TRACKING_URI", server["url"])
    monkeypatch.setenv("UAE_DATA_DIR", str(tmp_path / "data"))
    resource = MLflowResource()  # what the assets get when nothing is configured: the env var's server
    assert resource.uri() == server["url"] and resource.artifacts() is None  # the server's artifact store
    client = resource.client()  # runs.configure(uri)
    assert mlflow.get_tracking_uri() == server["url"] == mlflow.get_registry_uri()
    exp = runs.experiment_id(runs.experiment_name("srv"), resource.artifacts())
    assert runs.experiment_id(runs.experiment_name("srv"), resource.artifacts()) == exp  # idempotent
    model = load_student(str(tiny_student_dir))
    decisions = []
    for score in (0.30, 0.20):
        with mlflow.start_run(experiment_id=exp, tags={"teacher_id": "t"}) as run:
            mlflow.log_params({"objective": "uae"})
            mlflow.log_metric("dev_map", score)
            uri = registry.log_student(model)
            version = registry.register_version(client, "srv", uri, run.info.run_id)
            mlflow.set_tag("model_version", version)
        decisions.append(registry.promote_if_better(client, "srv", version, "map", score))
    assert [(d.version, d.promoted) for d in decisions] == [("1", True), ("2", False)]
    assert "does not beat champion v1" in decisions[1].describe()
    assert str(client.get_model_version_by_alias("uae-encoder-srv", "champion").version) == "1"
    assert registry.find_version(client, "srv", "dev_map", "0.2").version == "2"
    rows = runs.compare_runs(client, "srv")
    assert [r["version"] for r in rows] == ["2", "1 *"]

    local = registry.local_copy("models:/uae-encoder-srv@champion", tmp_path / "registry")
    assert (local / "model.safetensors").is_file() and (local / "modules.json").is_file()
    assert load_student(str(local)).encode(["a question"]).shape == (1, 32)
    # Uploaded through the server: the safetensors of both versions are in its artifact destination.
    assert len(list(server["artifacts"].rglob("model.safetensors"))) == 2
    # An explicit artifact_root still wins over the server's store (the local single-machine layout).
    assert MLflowResource(artifact_root=str(tmp_path / "a")).artifacts() == str(tmp_path / "a")


def test_the_manifests_allowed_hosts_admit_the_service_names_only(server):
    def status(host: str) -> int:
        req = urllib.request.Request(f"{server['url']}/api/2.0/mlflow/experiments/search?max_results=1",
                                     headers={"Host": host})
        try:
            with urllib.request.urlopen(req, timeout=10) as resp:
                return resp.status
        except urllib.error.HTTPError as err:
            return err.code

    for host in ("mlflow.uae.svc.cluster.local:5000", "mlflow:5000", "mlflow.uae.svc", "localhost:5000"):
        assert status(host) == 200, host
    assert status("attacker.example.com") == 403  # DNS rebinding guard still on
