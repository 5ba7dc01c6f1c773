"""supernet: dynamic ops, searchable mmdet models, the subnet space, its mutator, the
sandwich-rule algorithm, the FLOPs table and subnet export for the modular stage of
SM-NAS (one slimmable weight-sharing supernet trained once).

This package is the lower layer: it imports torch, mmcv, mmdet and mmengine only,
never the search package above it. Importing it is cheap and has no side effect:
the space and its errors need neither mmdet nor mmcv. Registration with mmdet's registries is explicit:
:func:`register_all_modules` (or importing ``supernet.models``, ``supernet.algorithm``
and ``supernet.engine``, whose classes register themselves).
"""
from .errors import RuleViolation
from .space import InvalidSubnet, ModularSpace, Subnet

__all__ = ['InvalidSubnet', 'ModularSpace', 'RuleViolation', 'Subnet', 'register_all_modules']


def register_all_modules() -> None:
    """Register the searchable and static models, the sandwich algorithm, its DDP
    wrapper, the subnets val loop and the checkpoint hook with mmdet (idempotent)."""
    from . import algorithm, engine, models  # noqa: F401  registering is importing them
