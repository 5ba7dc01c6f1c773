#!/usr/bin/env bash
# Install smnas and its whole stack (torch, mmengine, mmcv with compiled ops, mmdet).
#
#   bash install.sh            # into ./.venv (created if missing)
#   SMNAS_PYTHON=/path/to/python bash install.sh   # into an existing interpreter/env
#
# mmcv 2.1.0 ships only as an sdist, and torch 2.14's headers need C++20 while mmcv's
# setup.py forces C++14/17. We build it once from the sdist with the flag changed and
# cache the wheel in $SMNAS_CACHE (default ~/.cache/smnas/wheels), keyed by the mmcv,
# torch and Python versions and the CPU/CUDA variant, so the 15-30 minute build on a
# 2-core machine happens once per machine; later installs take a minute or two.
#
# Environment:
#   SMNAS_CACHE     cache root (default ${XDG_CACHE_HOME:-~/.cache}/smnas)
#   SMNAS_VENV      virtual environment to create/use (default ./.venv)
#   SMNAS_PYTHON    use this interpreter instead of a venv
#   SMNAS_MMCV_CUDA 1 to build mmcv's CUDA ops too, 0 for CPU only (default: auto)
#   TORCH_CUDA_ARCH_LIST  with CUDA: the architectures built (default: the local GPUs', e.g. "9.0")
#   MAX_JOBS        parallel compile jobs for mmcv (default: number of cores)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
CACHE="${SMNAS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/smnas}"
MMCV_VERSION=2.1.0
TORCH_VERSION=2.14.1
TORCHVISION_VERSION=0.29.1
START=$SECONDS

step() { printf '\n==> [%s] %s (%ds)\n' "$1" "$2" "$((SECONDS - START))"; }
die() { printf '\nERROR: %s\n' "$*" >&2; exit 1; }

# ---------------------------------------------------------------- interpreter
step 1/6 "Python environment"
if [[ -n "${SMNAS_PYTHON:-}" ]]; then
  PY="$SMNAS_PYTHON"
else
  VENV="${SMNAS_VENV:-$ROOT/.venv}"
  if [[ ! -x "$VENV/bin/python" ]]; then
    BOOT=""
    for cand in python3.11 python3 python; do
      if command -v "$cand" >/dev/null 2>&1; then BOOT="$cand"; break; fi
    done
    [[ -n "$BOOT" ]] || die "no python3 found; install Python 3.11"
    echo "creating virtual environment $VENV with $($BOOT --version 2>&1)"
    "$BOOT" -m venv "$VENV" || die "could not create a venv at $VENV (is python3-venv installed?)"
  fi
  PY="$VENV/bin/python"
fi
PYVER="$("$PY" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')"
echo "interpreter: $PY (Python $PYVER)"
case "$PYVER" in
  3.10|3.11|3.12) ;;
  *) die "Python $PYVER is not supported: use 3.10-3.12 (3.11 recommended)";;
esac
PIP=("$PY" -m pip --disable-pip-version-check)

# ---------------------------------------------------------------- build tools + torch
step 2/6 "build tools and torch $TORCH_VERSION"
"${PIP[@]}" install -q 'setuptools>=77,<81' wheel ninja
"${PIP[@]}" install -q "torch==$TORCH_VERSION" "torchvision==$TORCHVISION_VERSION"
"$PY" -c 'import torch, torchvision; print("torch", torch.__version__, "torchvision", torchvision.__version__)'

# ---------------------------------------------------------------- mmcv (cached build)
step 3/6 "mmcv $MMCV_VERSION with compiled ops"
if [[ -z "${SMNAS_MMCV_CUDA:-}" ]]; then
  if command -v nvcc >/dev/null 2>&1 && "$PY" -c 'import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)'; then
    SMNAS_MMCV_CUDA=1
  else
    SMNAS_MMCV_CUDA=0
  fi
fi
VARIANT=cpu
if [[ "$SMNAS_MMCV_CUDA" == 1 ]]; then
  # Kernels for the local GPUs' architectures only (e.g. 9.0 for an H200): a build for
  # every architecture torch supports takes several times as long.
  if [[ -z "${TORCH_CUDA_ARCH_LIST:-}" ]]; then
    TORCH_CUDA_ARCH_LIST="$("$PY" -c 'import torch; print(";".join(sorted({"%d.%d" % torch.cuda.get_device_capability(i) for i in range(torch.cuda.device_count())})))')"
    export TORCH_CUDA_ARCH_LIST
  fi
  echo "building mmcv's CUDA ops for compute capability $TORCH_CUDA_ARCH_LIST (set TORCH_CUDA_ARCH_LIST to change)"
  VARIANT="cuda$("$PY" -c 'import torch; print(torch.version.cuda)')_sm${TORCH_CUDA_ARCH_LIST//[^0-9]/}"
else
  echo "mmcv's ops for the CPU only (no nvcc or no GPU); on a GPU, smnas sends NMS, RoIAlign, deformable"
  echo "conv and the focal loss to torchvision's CUDA kernels (SMNAS_MMCV_CUDA=1 forces a CUDA build)"
fi
PYTAG="cp${PYVER/./}"
KEY="mmcv-${MMCV_VERSION}_torch-${TORCH_VERSION}_${PYTAG}_$(uname -m)_${VARIANT}"
WHEEL_DIR="$CACHE/wheels/$KEY"
mkdir -p "$WHEEL_DIR" "$CACHE/logs"

installed_mmcv_ok() {
  "$PY" - <<EOF >/dev/null 2>&1
import importlib.metadata as md, sys
try:
    assert md.version('mmcv') == '$MMCV_VERSION'
    from mmcv.ops import nms  # noqa: F401  compiled ops present
except Exception:
    sys.exit(1)
EOF
}

BUILD_TMP=""
trap '[[ -n "$BUILD_TMP" ]] && rm -rf "$BUILD_TMP"' EXIT

build_mmcv() {
  local tmp log src
  tmp="$(mktemp -d)"
  BUILD_TMP="$tmp"
  log="$CACHE/logs/$KEY.build.log"
  echo "no cached wheel in $WHEEL_DIR: building mmcv $MMCV_VERSION from its sdist"
  echo "this compiles ~80 C++ files and takes 15-30 minutes on 2 cores; it happens once per machine"
  echo "full build log: $log"
  "${PIP[@]}" download -q --no-deps --no-binary :all: "mmcv==$MMCV_VERSION" -d "$tmp" \
    || die "could not download the mmcv $MMCV_VERSION sdist"
  tar -xzf "$tmp/mmcv-$MMCV_VERSION.tar.gz" -C "$tmp"
  src="$tmp/mmcv-$MMCV_VERSION"
  # torch >= 2.10 headers refuse anything older than C++20.
  sed -i -e 's/-std=c++1[47]/-std=c++20/g' -e 's#/std:c++1[47]#/std:c++20#g' "$src/setup.py"
  grep -q 'c++20' "$src/setup.py" || die "patching mmcv's setup.py for C++20 failed (layout changed?)"
  if grep -q -- '-std=c++1[47]' "$src/setup.py"; then die "mmcv setup.py still forces C++14/17 after patching"; fi
  local t0=$SECONDS
  # -g0: debug info is not needed and makes the compile markedly slower.
  set +e
  MMCV_WITH_OPS=1 FORCE_CUDA="$SMNAS_MMCV_CUDA" MAX_JOBS="${MAX_JOBS:-$(nproc)}" CFLAGS="${CFLAGS:-} -g0" \
    "${PIP[@]}" wheel --no-build-isolation --no-deps -v -w "$tmp/dist" "$src" 2>&1 \
    | tee "$log" \
    | while IFS= read -r line; do
        if [[ "$line" =~ ^[[:space:]]*\[([0-9]+)/([0-9]+)\][[:space:]].*[[:space:]]-c[[:space:]]+(-c[[:space:]]+)?([^[:space:]]+) ]]; then
          printf '  mmcv ops [%s/%s] %-40s %4ds\n' "${BASH_REMATCH[1]}" "${BASH_REMATCH[2]}" \
            "$(basename "${BASH_REMATCH[4]}")" "$((SECONDS - t0))"
        elif [[ "$line" =~ ^[[:space:]]*\[([0-9]+)/([0-9]+)\] ]]; then
          printf '  mmcv ops [%s/%s] %4ds\n' "${BASH_REMATCH[1]}" "${BASH_REMATCH[2]}" "$((SECONDS - t0))"
        elif [[ "$line" == *"error:"* ]]; then
          printf '  %s\n' "$line"
        fi
      done
  local rc=${PIPESTATUS[0]}
  set -e
  [[ $rc -eq 0 ]] || die "building mmcv failed (exit $rc); see $log"
  local whl
  whl="$(ls "$tmp"/dist/mmcv-*.whl 2>/dev/null | head -n1)"
  [[ -n "$whl" ]] || die "mmcv build produced no wheel; see $log"
  # Copy then rename, so that an interrupted copy never leaves a broken cached wheel.
  cp "$whl" "$WHEEL_DIR/.$(basename "$whl").part"
  mv "$WHEEL_DIR/.$(basename "$whl").part" "$WHEEL_DIR/$(basename "$whl")"
  rm -rf "$tmp"
  BUILD_TMP=""
  echo "mmcv built in $((SECONDS - t0))s and cached at $WHEEL_DIR"
}

if installed_mmcv_ok; then
  echo "mmcv $MMCV_VERSION with ops already installed"
else
  WHEEL="$(ls "$WHEEL_DIR"/mmcv-"$MMCV_VERSION"-*.whl 2>/dev/null | head -n1 || true)"
  if [[ -z "$WHEEL" ]]; then
    build_mmcv
    WHEEL="$(ls "$WHEEL_DIR"/mmcv-"$MMCV_VERSION"-*.whl | head -n1)"
  else
    echo "using cached wheel $WHEEL"
  fi
  "${PIP[@]}" install -q --force-reinstall --no-deps "$WHEEL"
  # mmcv's own runtime requirements (opencv, addict, yapf, mmengine...) come from its metadata.
  "${PIP[@]}" install -q "$WHEEL"
fi

# ---------------------------------------------------------------- smnas + the rest
step 4/6 "smnas and the remaining dependencies"
"${PIP[@]}" install -q --no-build-isolation -e "$ROOT[dev]"

# ---------------------------------------------------------------- verification
step 5/6 "verify the install"
"$PY" -m smnas.verify

step 6/6 "done"
echo "smnas installed in $((SECONDS - START))s with $PY"
if [[ -z "${SMNAS_PYTHON:-}" ]]; then
  echo "activate with: source ${VENV}/bin/activate"
fi
