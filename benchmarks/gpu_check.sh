#!/usr/bin/env bash
# The GPU check: one prepared script that runs as is on a GPU machine (under 8 minutes on
# one GPU) and writes a Markdown report. With --tiny (or AXON_TINY=1) every section runs
# with tiny sizes, so it also runs on a CPU (tests/bench/test_gpu_check.py does that).
#
#   benchmarks/gpu_check.sh [--tiny] [REPORT.md]        (default report: gpu_check.md)
#
# Adding a check: append one `section "Title" python benchmarks/your_script.py ARGS` line
# below. The command's stdout goes into the report as it is (print Markdown table rows, as
# benchmarks/gpu_trainer.py does); `$TINY_FLAG` is "--tiny" in a tiny run, so pass it on
# (or pick your own tiny arguments with `if [ -n "$TINY_FLAG" ]`). A failing section is
# reported and the others still run; the script exits 1 if any failed.
set -uo pipefail
cd "$(dirname "$0")/.."

TINY_FLAG=""
if [ "${1:-}" = "--tiny" ]; then TINY_FLAG="--tiny"; shift; fi
if [ "${AXON_TINY:-0}" = "1" ]; then TINY_FLAG="--tiny"; fi
REPORT="${1:-gpu_check.md}"
PYTHON="${PYTHON:-python}"
export PYTHONPATH="${PYTHONPATH:-src}"
FAILED=0

{
  echo "# axon GPU check $(date -u +%Y-%m-%dT%H:%MZ)"
  echo
  "$PYTHON" -c "import torch; print('torch', torch.__version__, '|', torch.cuda.get_device_name(0) if torch.cuda.is_available() else 'no CUDA device: CPU')"
  echo "${TINY_FLAG:+(tiny sizes)}"
} > "$REPORT"

section() {  # section TITLE COMMAND...: run COMMAND, append its stdout under "## TITLE"
  local title="$1"; shift
  local start=$SECONDS
  printf '\n## %s\n\n' "$title" >> "$REPORT"
  if "$@" >> "$REPORT"; then
    printf '\n(%d s)\n' $((SECONDS - start)) >> "$REPORT"
  else
    local code=$?
    printf '\n**FAILED** (exit %d): `%s`\n' "$code" "$*" >> "$REPORT"
    FAILED=1
  fi
  echo "gpu_check: $title done ($((SECONDS - start)) s)" >&2
}

section "Trainer vs hand-written loop; GoogLeNet vs plain torch.nn" \
  "$PYTHON" benchmarks/gpu_trainer.py $TINY_FLAG
if [ -n "$TINY_FLAG" ]; then DP_ARGS="--nproc 1 --samples 256 --global-batch 64 --epochs 2 --repeats 1"
else DP_ARGS="--nproc 1 --model shapes-cnn --samples 20000 --global-batch 256 --epochs 2"; fi
section "Data-parallel overhead on one device (1 launched process vs the plain Trainer)" \
  bash -c "echo '\`\`\`'; $PYTHON benchmarks/data_parallel.py $DP_ARGS; status=\$?; echo '\`\`\`'; exit \$status"

if [ -n "$TINY_FLAG" ]; then PIPE_ARGS="--stages 2 --microbatches 1 4 --batch 8 --steps 1"
else PIPE_ARGS="--stages 2 --microbatches 1 4 16 --batch 256 --steps 10"; fi
section "Pipeline parallelism: stage bytes and bubble (nccl with a GPU per stage, else gloo on CPU)" \
  bash -c "echo '\`\`\`'; $PYTHON benchmarks/pipeline.py $PIPE_ARGS; status=\$?; echo '\`\`\`'; exit \$status"
# One GPU cannot hold 2 stage processes (NCCL takes a GPU per process; gloo sends CPU tensors
# only), so on one device all stages run in one process under PyTorch's multi-stage schedule.
if [ -n "$TINY_FLAG" ]; then PIPE1_ARGS="--stages 2 --microbatches 1 4 --batch 8 --steps 1"
else PIPE1_ARGS="--model googlenet --stages 2 --microbatches 1 4 16 --batch 64 --steps 10"; fi
section "Pipeline stages in one process on one device (the GPU if any): gradients and overhead vs the unsplit model" \
  bash -c "echo '\`\`\`'; $PYTHON benchmarks/pipeline.py --one-process $PIPE1_ARGS; status=\$?; echo '\`\`\`'; exit \$status"

if [ -n "$TINY_FLAG" ]; then PVM_ARGS="--model tracker-small --steps 3 --repeats 1 --round 1 --device cpu"
else PVM_ARGS="--model seed-small --steps 30 --repeats 5"; fi
section "PVM: bottom-up and pipelined steps, each one CUDA graph per step, vs eager" \
  bash -c "echo '\`\`\`'; $PYTHON benchmarks/pvm_gpu_check.py $PVM_ARGS; status=\$?; echo '\`\`\`'; exit \$status"

if [ -n "$TINY_FLAG" ]; then PP_ARGS="--tiny --repeats 2"; else PP_ARGS="--repeats 10"; fi
section "PointPillars per frame, full KITTI configuration, fp32 (the paper's plain PyTorch: 42 Hz)" \
  "$PYTHON" benchmarks/pointpillars_speed.py $PP_ARGS
section "PointPillars per frame, full KITTI configuration, bf16" \
  "$PYTHON" benchmarks/pointpillars_speed.py $PP_ARGS --precision bf16

echo "gpu_check: report in $REPORT" >&2
exit $FAILED
