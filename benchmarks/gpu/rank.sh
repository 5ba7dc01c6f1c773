#!/usr/bin/env bash
# The rank-fidelity ground truth at GPU scale, on a bare GPU machine with no network, in
# about 8 minutes on one H200 (benchmarks/README.md, rank fidelity):
#   1. install (benchmarks/gpu/env.sh: the carried wheels, mmcv's ops built with every core);
#   2. train 24 subnets of the rank space from scratch with 2 seeds each, 8 side by side on
#      the GPU (--truth-first: no supernet yet), every finished training stored at once in
#      $OUT/rank_gpu/ and in the record $OUT/rank_fidelity_gpu.json (a run stopped at its time
#      limit keeps them; rerun to go on, or restore on another machine with --json).
#   OUT=/tmp/out bash benchmarks/gpu/rank.sh                # on the GPU machine
#   bash benchmarks/gpu/rank.sh --subnets 2 --scratch-seeds 1 --scratch-iters 2 --jobs 2 \
#       --cfg-options ...                                    # the script's own path, on a CPU
# Extra arguments go to benchmarks/bench_rank_fidelity.py (later ones override these).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
source benchmarks/gpu/env.sh
PYTHONUNBUFFERED=1 "$PY" benchmarks/bench_rank_fidelity.py configs/supernet/rank_gpu.py \
  --work-dir "$OUTDIR/rank_gpu" --truth-first --subnets 24 --scratch-seeds 2 --scratch-iters 300 --jobs 8 \
  --search-subnets 0 --json "$OUTDIR/rank_fidelity_gpu.json" "$@"
