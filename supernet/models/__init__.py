"""Searchable (dynamic) and static models registered with mmdet."""
from .backbone import DynamicBasicBlock, SearchableResNet, SearchableResStage
from .guided import GARPNHeadFeat, SearchableGARPNHead
from .neck_heads import (
                         SearchableBBoxHead,
                         SearchableFPN,
                         SearchableRetinaHead,
                         SearchableRoIExtractor,
                         SearchableRPNHead,
                         SearchableShared2FCBBoxHead,
)
from .static import SubnetResNet, SubnetResStage, slice_state_dict

__all__ = ['DynamicBasicBlock', 'GARPNHeadFeat', 'SearchableBBoxHead', 'SearchableFPN', 'SearchableGARPNHead',
           'SearchableResNet', 'SearchableResStage', 'SearchableRetinaHead', 'SearchableRPNHead',
           'SearchableRoIExtractor', 'SearchableShared2FCBBoxHead', 'SubnetResNet', 'SubnetResStage',
           'slice_state_dict']
