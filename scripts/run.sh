#!/usr/bin/env bash
# Set everything up, then materialize the whole asset graph for the default domain and print the report.
# Extra arguments go to `uae materialize` (e.g. --domain covidqa, --config configs/full.yaml).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export DAGSTER_HOME="${DAGSTER_HOME:-$(pwd)/dagster_home}"
exec .venv/bin/uae materialize "$@"
