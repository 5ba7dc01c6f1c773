#!/usr/bin/env bash
# The GPU check on a bare GPU machine with no network (see benchmarks/gpu/check.py):
#   1. install the carried wheels (benchmarks/gpu/wheels.sh) into /tmp/site;
#   2. build mmcv 2.1.0 from its carried sdist with every core (CPU ops: CUDA tensors go to
#      torchvision's kernels, smnas/ops; SMNAS_MMCV_CUDA=1 builds mmcv's CUDA ops instead,
#      which takes longer than the check's budget);
#   3. run the checks, writing $OUT/gpu_check.json (or ./gpu_check.json).
# With mmdet already importable (a machine where install.sh ran), steps 1-2 are skipped:
#   bash benchmarks/gpu/check.sh [--device cpu --quick]     # the script's own path, on a CPU
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
source benchmarks/gpu/env.sh
PYTHONUNBUFFERED=1 "$PY" benchmarks/gpu/check.py --out "$OUTDIR/gpu_check.json" "$@"
