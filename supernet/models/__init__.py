"""Searchable (dynamic) and static models registered with mmdet."""
from .backbone import DynamicBasicBlock, SearchableResNet
from .neck_heads import (SearchableFPN, SearchableRoIExtractor, SearchableRPNHead,
                         SearchableShared2FCBBoxHead)
from .static import SubnetResNet, slice_state_dict

__all__ = ['DynamicBasicBlock', 'SearchableFPN', 'SearchableResNet', 'SearchableRPNHead',
           'SearchableRoIExtractor', 'SearchableShared2FCBBoxHead', 'SubnetResNet',
           'slice_state_dict']
