"""smnas: structural-to-modular neural architecture search for object detection.

Importing :mod:`smnas` registers our mmdet components (datasets, CPU fallbacks of
CUDA-only mmcv ops, mmengine's local checkpoint loader fixed for torch >= 2.6), so
configs only need ``custom_imports=dict(imports=['smnas'])``.
"""
from .version import __version__

__all__ = ['__version__']


def _register() -> None:
    # Registration needs mmcv/mmdet; keep `import smnas.version` usable without them
    # (setup.py and lightweight tooling read the version only).
    from . import data, engine, ops  # noqa: F401

    ops.install_cpu_fallbacks()
    engine.install_checkpoint_loader()


_register()
