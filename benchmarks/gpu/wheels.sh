#!/usr/bin/env bash
# Collect, on a machine with network, what benchmarks/gpu/env.sh installs on a bare GPU
# machine without one (Python 3.12, its own torch and torchvision, no mmcv/mmdet/mmengine):
# wheels of the missing pure-Python and cp312 packages, and mmcv's sdist (built there).
#   bash benchmarks/gpu/wheels.sh [DIR]      # default .whl/ (ignored by git); about 15 MiB
# With --mmcv-wheel, also build mmcv's wheel (CPU ops) here, so that the GPU machine spends
# no time compiling: PYTHON must then be a Python 3.12 with the GPU image's torch (2.11.0,
# /work/.library/device/KINDS.md); env.sh falls back to the sdist if the wheel does not load.
#   PYTHON=/tmp/py312/bin/python bash benchmarks/gpu/wheels.sh --mmcv-wheel   # ~10 min on 2 cores
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
MMCV_WHEEL=0
if [[ "${1:-}" == --mmcv-wheel ]]; then MMCV_WHEEL=1; shift; fi
DIR="${1:-.whl}"
mkdir -p "$DIR"
PY="${PYTHON:-$([[ -x .venv/bin/python ]] && echo .venv/bin/python || echo python3)}"  # mmcv's sdist metadata needs torch
PLAT=(--only-binary=:all: --python-version 3.12 --implementation cp --platform manylinux_2_28_x86_64
      --platform manylinux_2_27_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64
      --platform manylinux1_x86_64 --platform any)
# What the GPU image lacks (its list: /work/.library/device/KINDS.md); versions as setup.py pins.
PKGS=(mmengine==0.10.7 mmdet==3.3.0 pycocotools ultralytics-thop optuna alembic sqlalchemy colorlog
      mako greenlet addict yapf platformdirs tomli termcolor shapely terminaltables)
for p in "${PKGS[@]}"; do
  "$PY" -m pip download -q --no-deps "${PLAT[@]}" -d "$DIR" "$p"
done
"$PY" -m pip download -q --no-deps --no-build-isolation --no-binary :all: -d "$DIR" mmcv==2.1.0
if [[ $MMCV_WHEEL == 1 ]]; then
  "$PY" -c 'import sys, torch; assert sys.version_info[:2] == (3, 12), sys.version; print("torch", torch.__version__)'
  src=$(mktemp -d)
  tar -xzf "$DIR/mmcv-2.1.0.tar.gz" -C "$src"
  sed -i -e 's/-std=c++1[47]/-std=c++20/g' "$src/mmcv-2.1.0/setup.py"  # torch >= 2.10 headers need C++20
  rm -f "$DIR"/mmcv-*.whl
  MMCV_WITH_OPS=1 FORCE_CUDA=0 MAX_JOBS="${MAX_JOBS:-$(nproc)}" CFLAGS="${CFLAGS:-} -g0" \
    "$PY" -m pip wheel -q --no-build-isolation --no-deps -w "$DIR" "$src/mmcv-2.1.0"
  rm -rf "$src"
fi
du -sh "$DIR"
