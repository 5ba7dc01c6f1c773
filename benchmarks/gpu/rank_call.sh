#!/usr/bin/env bash
# One device call of the GPU rank truth (benchmarks/gpu/rank.sh), sized to the device tool's
# 10-minute command limit, that sends back what the next session needs in $OUT (8 files at
# most): the record rank_fidelity_gpu.json (every finished training; rank.sh resumes from the
# committed copy), the run's log, the GPU's identity and utilisation (nvidia-smi dmon), and
# the trainings' own logs (logs.tgz: their iteration times, benchmarks/gpu/iter_times.py).
#   bash benchmarks/gpu/rank_call.sh [SECONDS] [rank.sh arguments...]   # default 540 s
# Run with the device tool's `run`, carrying .whl (benchmarks/gpu/wheels.sh --mmcv-wheel) and
# data/synthetic_rank (34 MiB, as the CPU benchmark generated it: the very images of the CPU
# truth and supernets, and about 50 s of generating saved there).
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
OUT="${OUT:-/tmp/out}"
mkdir -p "$OUT"
LIMIT="${1:-540}"
[[ $# -gt 0 ]] && shift
export PYTHONUNBUFFERED=1 SMNAS_RANK_WORK="${SMNAS_RANK_WORK:-/tmp/smnas_rank_gpu}"
{ nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv; nproc
  python3 -c 'import sys, torch, numpy; print(sys.version.split()[0], torch.__version__, numpy.__version__)'
} > "$OUT/gpu.txt" 2>&1
nvidia-smi dmon -s um -d 5 > "$OUT/dmon.log" 2>&1 &
DMON=$!
# stopped at LIMIT: every training finished so far is in the record already
timeout -s TERM "$LIMIT" bash benchmarks/gpu/rank.sh "$@" 2>&1 \
  | grep --line-buffered -v 'WARNING: Location\|SyntaxWarning\|^  """' | tee "$OUT/rank_gpu.log"
rc=${PIPESTATUS[0]}
kill "$DMON" 2>/dev/null
if [[ -d "$SMNAS_RANK_WORK/subnets" ]]; then
  (cd "$SMNAS_RANK_WORK" && find subnets \( -name trial.log -o -name '20*.log' -o -name result.json \
     -o -name failure.json \) -print0 | tar czf "$OUT/logs.tgz" --null -T -)
fi
echo "[rank_call] rank.sh exit $rc (124: stopped at ${LIMIT} s)"
ls -la "$OUT"
