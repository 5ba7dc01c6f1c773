"""Searchable (dynamic) and static models registered with mmdet."""
from .backbone import DynamicBasicBlock, SearchableResNet
from .static import SubnetResNet, slice_state_dict

__all__ = ['DynamicBasicBlock', 'SearchableResNet', 'SubnetResNet', 'slice_state_dict']
