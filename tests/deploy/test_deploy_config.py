"""What can be checked of the cluster deployment without a cluster: deploy/dagster/dagster.yaml passes
Dagster's instance schema and builds a real instance (PostgreSQL storage on the session's server,
K8sRunLauncher from an offline kubeconfig); the pod the k8s_job_executor would create for each labeling
shard of utility_labels (its label_shard step) asks for a GPU and runs the teacher on cuda, with the op
tag's default and with deploy/helm/values.yaml's override; the Helm values agree with dagster.yaml and name
the code location and env vars the code reads; the MLflow manifest's and server.sh's options are ones the
installed `mlflow server` accepts."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import yaml

from tests.helpers import REPO

pytestmark = pytest.mark.filterwarnings("ignore:Found version mismatch")

DEPLOY = REPO / "deploy"
KUBECONFIG = """apiVersion: v1
kind: Config
clusters: [{name: offline, cluster: {server: "https://127.0.0.1:6443"}}]
users: [{name: offline, user: {token: not-a-token}}]
contexts: [{name: offline, context: {cluster: offline, user: offline, namespace: uae}}]
current-context: offline
"""


def cluster_yaml() -> dict:
    return yaml.safe_load((DEPLOY / "dagster" / "dagster.yaml").read_text())


def helm_values() -> dict:
    return yaml.safe_load((DEPLOY / "helm" / "values.yaml").read_text())


def code_location(values: dict) -> dict:
    (deployment,) = values["dagster-user-deployments"]["deployments"]
    return deployment


def helm_env(values: dict) -> dict[str, str]:
    return {e["name"]: e["value"] for e in code_location(values)["env"]}


def test_cluster_instance_yaml_passes_dagsters_schema(tmp_path):
    from dagster._config import process_config
    from dagster._core.instance.config import dagster_instance_config
    from dagster_k8s import K8sRunLauncher

    (tmp_path / "dagster.yaml").write_text((DEPLOY / "dagster" / "dagster.yaml").read_text())
    config, _ = dagster_instance_config(str(tmp_path))  # the schema and Dagster's own consistency checks
    assert config["run_launcher"]["class"] == "K8sRunLauncher"
    launcher = process_config(K8sRunLauncher.config_type(), cluster_yaml()["run_launcher"]["config"])
    assert launcher.success, launcher.errors


@pytest.fixture
def cluster_instance(tmp_path, postgres, pg_database, monkeypatch):
    """DagsterInstance.from_config on deploy/dagster/dagster.yaml, changed only to read an offline kubeconfig
    instead of the in-cluster service account."""
    from dagster import DagsterInstance

    raw = cluster_yaml()
    (tmp_path / "kubeconfig").write_text(KUBECONFIG)
    raw["run_launcher"]["config"].update(load_incluster_config=False, kubeconfig_file=str(tmp_path / "kubeconfig"))
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text(yaml.safe_dump(raw))
    for name, value in {"DAGSTER_PG_HOST": postgres.host, "DAGSTER_PG_PORT": str(postgres.port),
                        "DAGSTER_PG_DB": pg_database, "DAGSTER_PG_USER": postgres.user,
                        "DAGSTER_PG_PASSWORD": postgres.password}.items():
        monkeypatch.setenv(name, value)
    with DagsterInstance.from_config(str(home)) as instance:
        yield instance


@pytest.mark.slow
def test_cluster_instance_builds_on_postgres_with_the_k8s_launcher(cluster_instance):
    from dagster_k8s import K8sRunLauncher
    from dagster_postgres import PostgresEventLogStorage, PostgresRunStorage, PostgresScheduleStorage

    instance = cluster_instance
    assert isinstance(instance.run_storage, PostgresRunStorage)
    assert isinstance(instance.event_log_storage, PostgresEventLogStorage)
    assert isinstance(instance.schedule_storage, PostgresScheduleStorage)
    launcher = instance.run_launcher
    assert isinstance(launcher, K8sRunLauncher) and launcher.job_namespace == "uae"
    assert launcher.instance_config_map == "dagster-instance" and launcher.dagster_home == "/opt/dagster/dagster_home"
    assert instance.run_monitoring_enabled and instance.run_monitoring_start_timeout_seconds == 900
    assert instance.run_retries_enabled and instance.run_retries_max_retries == 1
    assert instance.storage_directory() == "/data/dagster_storage/storage"  # the shared volume
    concurrency = instance.get_concurrency_config()
    assert concurrency.run_queue_config.max_concurrent_runs == 1
    assert concurrency.pool_config.default_pool_limit == 1
    assert instance.auto_materialize_use_sensors
    # The instance really writes to PostgreSQL: a run round-trips.
    from dagster import DagsterRun

    instance.add_run(DagsterRun(job_name="uae_pipeline", run_id="a" * 36, tags={"dagster/partition": "d"}))
    assert instance.get_run_by_id("a" * 36).tags["dagster/partition"] == "d"


def step_pod(instance, step_tags: dict[str, str]):
    """The pod spec the k8s_job_executor builds for a step with these tags (its own merging code)."""
    from dagster import DagsterRun
    from dagster_k8s.container_context import K8sContainerContext
    from dagster_k8s.job import construct_dagster_k8s_job, get_user_defined_k8s_config

    launcher = instance.run_launcher
    run = DagsterRun(job_name="uae_pipeline", run_id="b" * 36)
    context = K8sContainerContext.create_for_run(run, launcher, include_run_tags=False).merge(
        K8sContainerContext(run_k8s_config=get_user_defined_k8s_config(step_tags)))
    job = construct_dagster_k8s_job(context.get_k8s_job_config("registry.example.com/uae:test", launcher),
                                    ["dagster", "api", "execute_step"], "dagster-step-test",
                                    user_defined_k8s_config=context.run_k8s_config, component="step_worker")
    return job.spec.template.spec


def labeling_tags(extra_env: dict[str, str] | None = None) -> dict[str, str]:
    """The tags of utility_labels' label_shard op (the step that loads the teacher) as the code location defines
    them (a fresh process: they are read at import)."""
    code = ("import json; from uae_assets.definitions import defs; "
            "labels = defs.resolve_job_def('uae_pipeline').graph.node_named('utility_labels').definition; "
            "print(json.dumps(dict(labels.node_named('label_shard').tags)))")
    env = {**os.environ, **(extra_env or {})}
    proc = subprocess.run([sys.executable, "-W", "ignore", "-c", code], env=env, cwd=REPO, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def assert_gpu_step(spec):
    (container,) = spec.containers
    assert str(container.resources.limits["nvidia.com/gpu"]) == "1"
    assert {"name": "UAE_TEACHER_DEVICE", "value": "cuda"} in [{"name": e.name, "value": e.value}
                                                               for e in container.env]
    assert any(t.key == "nvidia.com/gpu" and t.effect == "NoSchedule" for t in spec.tolerations)
    # and, from the run launcher, what every step pod gets: the shared volume and the env ConfigMap
    assert [(m.name, m.mount_path) for m in container.volume_mounts if m.name == "uae-data"] == [("uae-data", "/data")]
    assert "uae-env" in [s.config_map_ref.name for s in container.env_from if s.config_map_ref]
    assert [v.persistent_volume_claim.claim_name for v in spec.volumes if v.name == "uae-data"] == ["uae-data"]
    return container


@pytest.mark.slow
def test_the_labeling_step_pod_gets_a_gpu(cluster_instance):
    from uae_assets.assets.utility_labels import GPU_POD, label_shard, utility_labels

    tags = dict(label_shard.tags)
    assert dict(utility_labels.node_def.node_named("label_shard").tags) == tags
    if not os.environ.get("UAE_LABELING_K8S_CONFIG"):
        assert json.loads(tags["dagster-k8s/config"]) == GPU_POD
    container = assert_gpu_step(step_pod(cluster_instance, tags))
    assert container.resources.requests == {"cpu": "2", "memory": "8Gi"}  # the run pod's, merged in
    # Any other step: a CPU pod with the same volume and env, no GPU, no toleration.
    cpu = step_pod(cluster_instance, {})
    assert "nvidia.com/gpu" not in (cpu.containers[0].resources.limits or {}) and not cpu.tolerations


@pytest.mark.slow
def test_helm_values_override_places_the_labeling_pod_on_the_gpu_pool(cluster_instance):
    override = helm_env(helm_values())["UAE_LABELING_K8S_CONFIG"]
    tags = labeling_tags({"UAE_LABELING_K8S_CONFIG": override})
    assert json.loads(tags["dagster-k8s/config"]) == json.loads(override)
    spec = step_pod(cluster_instance, tags)
    container = assert_gpu_step(spec)
    assert spec.node_selector == {"uae.example.com/pool": "gpu"}
    assert container.resources.requests == {"cpu": "4", "memory": "16Gi"}  # the override wins over the run's


def test_the_executor_is_chosen_by_uae_executor(monkeypatch):
    from dagster import in_process_executor, multiprocess_executor
    from dagster_k8s import k8s_job_executor

    from uae_assets import definitions

    assert definitions.defs.resolve_job_def("uae_pipeline").executor_def in (in_process_executor, k8s_job_executor)
    for value, expected in (("in_process", in_process_executor), ("multiprocess", multiprocess_executor),
                            ("k8s", k8s_job_executor)):
        monkeypatch.setenv("UAE_EXECUTOR", value)
        assert definitions._executor() is expected
    monkeypatch.setenv("UAE_EXECUTOR", "celery")
    with pytest.raises(ValueError, match="expected in_process, multiprocess or k8s"):
        definitions._executor()


def test_helm_values_agree_with_the_instance_yaml_and_the_code():
    import importlib

    from dagster import Definitions

    values, cluster = helm_values(), cluster_yaml()
    deployment = code_location(values)
    args = deployment["dagsterApiGrpcArgs"]
    module, attr = args[args.index("-m") + 1], args[args.index("-a") + 1]
    assert isinstance(getattr(importlib.import_module(module), attr), Definitions)
    assert deployment["includeConfigInLaunchedRuns"]["enabled"] is True  # runs and steps get the env below
    env = helm_env(values)
    assert env["UAE_EXECUTOR"] == "k8s"
    assert env["UAE_MLFLOW_TRACKING_URI"].startswith("http://mlflow.uae.svc.cluster.local:")
    assert {"UAE_DATA_DIR", "UAE_DOMAINS"} <= set(env)
    pg = cluster["storage"]["postgres"]["postgres_db"]
    assert values["postgresql"]["postgresqlScheme"] == pg["scheme"] == "postgresql+psycopg2"
    assert values["runLauncher"]["type"] == "K8sRunLauncher"
    launcher = values["runLauncher"]["config"]["k8sRunLauncher"]
    assert launcher["jobNamespace"] == cluster["run_launcher"]["config"]["job_namespace"]
    snake = lambda d: {"".join("_" + c.lower() if c.isupper() else c for c in k): v for k, v in d.items()}
    assert snake(launcher["runK8sConfig"]["containerConfig"]) == cluster["run_launcher"]["config"][
        "run_k8s_config"]["container_config"]
    daemon = values["dagsterDaemon"]
    assert snake(daemon["runMonitoring"]).items() <= cluster["run_monitoring"].items()
    assert snake(daemon["runRetries"]) == cluster["run_retries"]
    assert values["concurrency"]["runs"]["maxConcurrentRuns"] == cluster["concurrency"]["runs"]["max_concurrent_runs"]
    assert snake(values["concurrency"]["pools"]) == cluster["concurrency"]["pools"]
    extra = values["additionalInstanceConfig"]
    assert extra["local_artifact_storage"] == cluster["local_artifact_storage"]
    assert extra["auto_materialize"] == cluster["auto_materialize"]


def test_mlflow_manifest_and_script_use_options_mlflow_server_accepts(tmp_path):
    from mlflow.cli import server

    docs = {d["kind"]: d for d in yaml.safe_load_all((DEPLOY / "mlflow" / "k8s.yaml").read_text())}
    pod = docs["Deployment"]["spec"]["template"]
    (container,) = pod["spec"]["containers"]
    assert container["command"] == ["mlflow"] and container["args"][0] == "server"
    params = server.make_context("server", container["args"][1:]).params  # click raises on unknown options
    assert params["serve_artifacts"] and params["artifacts_destination"] == "/mlartifacts"
    assert params["backend_store_uri"] == "$(MLFLOW_BACKEND_STORE_URI)"  # expanded by Kubernetes from env
    assert [e["name"] for e in container["env"]] == ["MLFLOW_BACKEND_STORE_URI"]
    assert docs["Service"]["spec"]["selector"].items() <= pod["metadata"]["labels"].items()
    (port,) = docs["Service"]["spec"]["ports"]
    assert port["targetPort"] == container["ports"][0]["name"] and str(params["port"]) == str(port["port"])
    mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
    assert mounts["artifacts"] == "/mlartifacts"
    assert docs["PersistentVolumeClaim"]["metadata"]["name"] == pod["spec"]["volumes"][0]["persistentVolumeClaim"][
        "claimName"]

    script = DEPLOY / "mlflow" / "server.sh"
    env = {**os.environ, "MLFLOW": "echo", "MLFLOW_BACKEND_STORE_URI": "postgresql+psycopg2://u:p@h:5432/mlflow",
           "MLFLOW_ARTIFACTS_DESTINATION": str(tmp_path), "MLFLOW_ALLOWED_HOSTS": "mlflow*"}
    out = subprocess.run(["bash", str(script)], env=env, capture_output=True, text=True, check=True).stdout.split()
    params = server.make_context("server", out[1:]).params
    assert params["backend_store_uri"] == env["MLFLOW_BACKEND_STORE_URI"] and params["allowed_hosts"] == "mlflow*"
    missing = subprocess.run(["bash", str(script)], env={"PATH": os.environ["PATH"]}, capture_output=True, text=True)
    assert missing.returncode != 0 and "MLFLOW_BACKEND_STORE_URI" in missing.stderr
