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
WHL="${SMNAS_WHEELS:-.whl}"
PY="${PYTHON:-python3}"
OUTDIR="${OUT:-.}"
t0=$SECONDS
if ! "$PY" -c 'import mmdet, mmcv.ops' 2>/dev/null; then
  [[ -d "$WHL" ]] || { echo "no $WHL: run benchmarks/gpu/wheels.sh on a machine with network" >&2; exit 2; }
  "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site \
    "$WHL"/*.whl
  export PYTHONPATH="/tmp/site:$PWD${PYTHONPATH:+:$PYTHONPATH}"
  src=$(mktemp -d)
  tar -xzf "$WHL"/mmcv-2.1.0.tar.gz -C "$src"
  # torch >= 2.10 headers need C++20 (as install.sh patches)
  sed -i -e 's/-std=c++1[47]/-std=c++20/g' "$src/mmcv-2.1.0/setup.py"
  echo "[gpu-check] building mmcv's ops with $(nproc) jobs ($((SECONDS - t0)) s so far)"
  (cd "$src/mmcv-2.1.0" && MMCV_WITH_OPS=1 FORCE_CUDA="${SMNAS_MMCV_CUDA:-0}" MAX_JOBS="$(nproc)" \
     "$PY" setup.py -q build_ext --inplace >"$OUTDIR/mmcv_build.log" 2>&1) \
    || { echo "mmcv build failed: $OUTDIR/mmcv_build.log" >&2; tail -20 "$OUTDIR/mmcv_build.log" >&2; exit 3; }
  export PYTHONPATH="$src/mmcv-2.1.0:$PYTHONPATH"
  echo "[gpu-check] installed in $((SECONDS - t0)) s"
else
  export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
fi
PYTHONUNBUFFERED=1 "$PY" benchmarks/gpu/check.py --out "$OUTDIR/gpu_check.json" "$@"
