# Sourced by the GPU scripts (check.sh, rank.sh) on a bare GPU machine with no network:
# installs the carried wheels (benchmarks/gpu/wheels.sh) into /tmp/site. mmcv's compiled
# ops come from a carried mmcv wheel built for that machine's Python and torch
# (wheels.sh --mmcv-wheel), or, where there is none or its ops do not load (another torch
# or C++ runtime), are built from the carried sdist with every core (CPU ops: CUDA tensors
# go to torchvision's kernels, smnas/ops; SMNAS_MMCV_CUDA=1 builds mmcv's CUDA ops instead,
# which takes longer than a check's budget). With mmdet already importable (install.sh
# ran) it only sets PYTHONPATH. Leaves PY, OUTDIR and PYTHONPATH set; expects to run from
# the repo root.
WHL="${SMNAS_WHEELS:-.whl}"
PY="${PYTHON:-python3}"
OUTDIR="${OUT:-.}"
t0=$SECONDS
if ! "$PY" -c 'import mmdet, mmcv.ops' 2>/dev/null; then
  [[ -d "$WHL" ]] || { echo "no $WHL: run benchmarks/gpu/wheels.sh on a machine with network" >&2; exit 2; }
  "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site \
    "$WHL"/*.whl
  export PYTHONPATH="/tmp/site:$PWD${PYTHONPATH:+:$PYTHONPATH}"
  if err=$("$PY" -c 'import mmdet, mmcv.ops' 2>&1); then
    echo "[gpu-env] mmcv's ops from the carried wheel"
  else
    [[ -n "$(ls "$WHL"/mmcv-*.whl 2>/dev/null)" ]] && echo "[gpu-env] the carried mmcv wheel does not load here: ${err##*$'\n'}"
    src=$(mktemp -d)
    tar -xzf "$WHL"/mmcv-2.1.0.tar.gz -C "$src"
    # torch >= 2.10 headers need C++20 (as install.sh patches)
    sed -i -e 's/-std=c++1[47]/-std=c++20/g' "$src/mmcv-2.1.0/setup.py"
    echo "[gpu-env] building mmcv's ops with $(nproc) jobs ($((SECONDS - t0)) s so far)"
    (cd "$src/mmcv-2.1.0" && MMCV_WITH_OPS=1 FORCE_CUDA="${SMNAS_MMCV_CUDA:-0}" MAX_JOBS="$(nproc)" \
       CFLAGS="${CFLAGS:-} -g0" "$PY" setup.py -q build_ext --inplace >"$OUTDIR/mmcv_build.log" 2>&1) \
      || { echo "mmcv build failed: $OUTDIR/mmcv_build.log" >&2; tail -20 "$OUTDIR/mmcv_build.log" >&2; exit 3; }
    export PYTHONPATH="$src/mmcv-2.1.0:$PYTHONPATH"
  fi
  echo "[gpu-env] installed in $((SECONDS - t0)) s"
else
  export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
fi
