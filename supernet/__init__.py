"""supernet: dynamic ops, searchable mmdet models, subnet space and export for the
modular stage of SM-NAS (one slimmable weight-sharing supernet trained once).

Importing it registers the searchable and static models with mmdet.
"""
from . import algorithm, engine, models, ops  # noqa: F401
from .space import InvalidSubnet, ModularSpace, Subnet

__all__ = ['InvalidSubnet', 'ModularSpace', 'Subnet']
