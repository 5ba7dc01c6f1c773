#!/usr/bin/env bash
# Collect, on a machine with network, what benchmarks/gpu/check.sh installs on a bare GPU
# machine without one (Python 3.12, its own torch and torchvision, no mmcv/mmdet/mmengine):
# wheels of the missing pure-Python and cp312 packages, and mmcv's sdist (built there).
#   bash benchmarks/gpu/wheels.sh [DIR]      # default .whl/ (ignored by git); about 15 MiB
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
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
du -sh "$DIR"
