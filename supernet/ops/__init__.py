"""Config-free dynamic ops (see :mod:`supernet.ops.dynamic`)."""
from .dynamic import (DynamicConv2d, DynamicGroupNorm, DynamicLinear, fan_in_scale, gn_groups,
                      standardize_weight)

__all__ = ['DynamicConv2d', 'DynamicGroupNorm', 'DynamicLinear', 'fan_in_scale', 'gn_groups',
           'standardize_weight']
