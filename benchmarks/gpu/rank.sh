#!/usr/bin/env bash
# The rank-fidelity ground truth at GPU scale, on a bare GPU machine with no network
# (benchmarks/README.md, "rank fidelity on a GPU"):
#   1. install (benchmarks/gpu/env.sh: the carried wheels, mmcv's ops from the carried wheel);
#   2. start CUDA's MPS daemon, so that the trainings sharing the GPU run their kernels side by
#      side: without it the GPU time-slices between the processes, and 12 trainings ran each
#      iteration 10x slower than one alone (1.70 s against 0.17-0.20 s; 4 under MPS: 0.17-0.20 s);
#   3. train 24 subnets of the rank space from scratch with 2 seeds each, 12 side by side
#      (--truth-first: no supernet yet), one seed over every subnet at a time. Every finished
#      training is stored at once in the record $OUT/rank_fidelity_gpu.json (the work dir,
#      $SMNAS_RANK_WORK, stays on the machine). The record starts from
#      benchmarks/results/rank_fidelity_gpu.json where one is committed, so a later run (a
#      later session's GPU) trains only what is missing.
#   OUT=/tmp/out bash benchmarks/gpu/rank.sh                # on the GPU machine
#   bash benchmarks/gpu/rank.sh --subnets 2 --scratch-seeds 1 --scratch-iters 2 --jobs 2 \
#       --cfg-options ...                                    # the script's own path, on a CPU
# Extra arguments go to benchmarks/bench_rank_fidelity.py (later ones override these).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
source benchmarks/gpu/env.sh
RECORD="$OUTDIR/rank_fidelity_gpu.json"
RESUME="${SMNAS_RANK_RESUME-benchmarks/results/rank_fidelity_gpu.json}"  # '' starts afresh
if [[ ! -f "$RECORD" && -n "$RESUME" && -f "$RESUME" ]]; then
  mkdir -p "$OUTDIR" && cp "$RESUME" "$RECORD"
fi
if command -v nvidia-cuda-mps-control >/dev/null 2>&1 && "$PY" -c 'import torch, sys; sys.exit(not torch.cuda.is_available())'; then
  if nvidia-cuda-mps-control -d 2>/dev/null; then echo "[rank] MPS daemon started"
  else echo "[rank] MPS daemon not started (running already, or not allowed): trainings may time-slice the GPU"; fi
fi
PYTHONUNBUFFERED=1 "$PY" benchmarks/bench_rank_fidelity.py configs/supernet/rank_gpu.py \
  --work-dir "${SMNAS_RANK_WORK:-/tmp/smnas_rank_gpu}" --truth-first --subnets 24 --scratch-seeds 2 \
  --scratch-iters 300 --retrain-options measure.bootstrap=50 --jobs 12 --search-subnets 0 --json "$RECORD" "$@"
