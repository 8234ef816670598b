#!/usr/bin/env bash
# The MLflow tracking server for UAE: runs, metrics, the model registry (aliases such as `champion`) in a
# database, artifacts (the students' safetensors, eval reports) proxied by the server into one store, so
# clients need only the HTTP URI (no bucket credentials on the Dagster pods).
#
#   MLFLOW_BACKEND_STORE_URI=postgresql+psycopg2://mlflow:PASSWORD@db-host:5432/mlflow \
#   MLFLOW_ARTIFACTS_DESTINATION=/srv/mlflow/artifacts \
#     bash deploy/mlflow/server.sh
#   # then, for the pipeline:  export UAE_MLFLOW_TRACKING_URI=http://THIS-HOST:5000
#
# MLFLOW_BACKEND_STORE_URI      postgresql+psycopg2://... (psycopg2: SQLAlchemy 2.1 reads plain
#                               `postgresql` as psycopg 3, which is not installed); sqlite:///path for a
#                               single machine. The server creates and migrates its tables on start;
#                               after an MLflow upgrade run `mlflow db upgrade $MLFLOW_BACKEND_STORE_URI`.
# MLFLOW_ARTIFACTS_DESTINATION  a folder (a shared volume), s3://bucket/prefix (MinIO too, with
#                               MLFLOW_S3_ENDPOINT_URL; needs boto3 in the server's environment) or
#                               gs://bucket/prefix (needs google-cloud-storage). Only the server touches it.
# MLFLOW_HOST / MLFLOW_PORT     bind address (default 127.0.0.1:5000: this machine only). The server has
#                               no authentication of its own, and `uae search` / `uae serve` load the models
#                               it serves: put auth in front before binding wider (MLFLOW_HOST=0.0.0.0),
#                               see deploy/README.md, "Authentication".
# MLFLOW_ALLOWED_HOSTS          Host headers the server answers (DNS-rebinding guard; default: localhost
#                               and private IPs). On Kubernetes add the Service's names, e.g.
#                               mlflow,mlflow.uae.svc,mlflow.uae.svc.cluster.local,mlflow:5000,...
# MLFLOW_WORKERS                uvicorn workers (default 2)
# MLFLOW_APP_NAME               `basic-auth`: MLflow's own username/password app (needs `pip install
#                               'mlflow[auth]'` and MLFLOW_AUTH_CONFIG_PATH, MLFLOW_AUTH_ADMIN_PASSWORD;
#                               deploy/README.md); empty = no authentication
#
# tests/deploy/test_mlflow_server.py starts the same command (on 127.0.0.1, a free port, PostgreSQL or
# SQLite, a temporary artifact folder) and drives it through the project's tracking code.
set -euo pipefail
: "${MLFLOW_BACKEND_STORE_URI:?set MLFLOW_BACKEND_STORE_URI (postgresql+psycopg2://user:pw@host:5432/mlflow)}"
: "${MLFLOW_ARTIFACTS_DESTINATION:?set MLFLOW_ARTIFACTS_DESTINATION (a folder, s3://..., gs://...)}"
args=(server
  --backend-store-uri "$MLFLOW_BACKEND_STORE_URI"
  --serve-artifacts --artifacts-destination "$MLFLOW_ARTIFACTS_DESTINATION"
  --host "${MLFLOW_HOST:-127.0.0.1}" --port "${MLFLOW_PORT:-5000}"
  --workers "${MLFLOW_WORKERS:-2}")
if [ -n "${MLFLOW_ALLOWED_HOSTS:-}" ]; then
  args+=(--allowed-hosts "$MLFLOW_ALLOWED_HOSTS")
fi
if [ -n "${MLFLOW_APP_NAME:-}" ]; then
  args+=(--app-name "$MLFLOW_APP_NAME")
fi
exec "${MLFLOW:-mlflow}" "${args[@]}"
