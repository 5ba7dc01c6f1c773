"""Searchable (dynamic) and static models registered with mmdet."""
from .backbone import DynamicBasicBlock, SearchableResNet
from .neck_heads import (
                         SearchableFPN,
                         SearchableRetinaHead,
                         SearchableRoIExtractor,
                         SearchableRPNHead,
                         SearchableShared2FCBBoxHead,
)
from .static import SubnetResNet, slice_state_dict

__all__ = ['DynamicBasicBlock', 'SearchableFPN', 'SearchableResNet', 'SearchableRetinaHead',
           'SearchableRPNHead', 'SearchableRoIExtractor', 'SearchableShared2FCBBoxHead',
           'SubnetResNet', 'slice_state_dict']
