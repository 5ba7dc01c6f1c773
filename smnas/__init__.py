"""smnas: structural-to-modular neural architecture search for object detection.

Importing :mod:`smnas` is cheap and changes nothing. Registration with mmdet (our
dataset, hooks, the supernet's models, CPU fallbacks of CUDA-only mmcv ops and
mmengine's local checkpoint loader fixed for torch >= 2.6) is explicit: configs
carry ``custom_imports=dict(imports=['smnas.register'])`` and code calls
:func:`smnas.register.register_all_modules`.
"""
from .version import __version__

__all__ = ['__version__']
