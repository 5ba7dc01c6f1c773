"""Config-free dynamic ops (see :mod:`supernet.ops.dynamic`)."""
from .dynamic import DynamicConv2d, DynamicGroupNorm, DynamicLinear, gn_groups, standardize_weight

__all__ = ['DynamicConv2d', 'DynamicGroupNorm', 'DynamicLinear', 'gn_groups', 'standardize_weight']
