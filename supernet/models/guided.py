"""The Guided-Anchor RPN of the modular space: its static form with a width-changing
RPN conv, and the searchable form whose layers are dynamic.

mmdet's ``GARPNHead`` runs a 3x3 RPN conv (``in_channels`` -> ``feat_channels``) and
then builds its guided layers (location, shape, feature adaption, masked cls/reg
convs) for ``in_channels`` inputs: it works only when both widths are equal, as in
mmdet's configs. In the modular space the RPN conv's width is the head width and its
input the neck width, so :class:`GARPNHeadFeat` builds the guided layers for
``feat_channels``; with equal widths it is mmdet's head, weight for weight.
"""
from mmdet.models.dense_heads import GARPNHead
from mmdet.registry import MODELS
from torch import nn

from ..ops import DynamicConv2d
from ..ops.guided import DynamicDeformConv2d, DynamicMaskedConv2d


@MODELS.register_module()
class GARPNHeadFeat(GARPNHead):
    """mmdet's ``GARPNHead`` whose guided layers take the RPN conv's output width
    (``feat_channels``), so ``in_channels`` may differ from it. Arguments as
    ``GARPNHead``."""

    def _init_layers(self) -> None:
        in_c = self.in_channels
        self.in_channels = self.feat_channels  # what the guided layers receive
        super()._init_layers()
        self.in_channels = in_c
        self.rpn_conv = nn.Conv2d(in_c, self.feat_channels, 3, padding=1)


@MODELS.register_module()
class SearchableGARPNHead(GARPNHeadFeat):
    """The Guided-Anchor RPN at the subnet's widths: the RPN conv and the feature
    adaption's deformable conv have the subnet's head width, the RPN conv's input
    follows the neck; the location, shape and masked cls/reg convs take the head
    width in. Arguments as ``GARPNHead`` (at maximum widths)."""

    def _init_layers(self) -> None:
        super()._init_layers()
        feat = self.feat_channels
        self.rpn_conv = DynamicConv2d(self.in_channels, feat, 3, padding=1, bias=True)
        self.conv_loc = DynamicConv2d(feat, self.conv_loc.out_channels, 1, bias=True)
        self.conv_shape = DynamicConv2d(feat, self.conv_shape.out_channels, 1, bias=True)
        adapt = self.feature_adaption.conv_adaption
        self.feature_adaption.conv_adaption = DynamicDeformConv2d(
            feat, feat, adapt.kernel_size, padding=adapt.padding, deform_groups=adapt.deform_groups)
        for name in ('conv_cls', 'conv_reg'):
            conv = getattr(self, name)
            setattr(self, name, DynamicMaskedConv2d(feat, conv.out_channels, 1))

    def apply_subnet(self, subnet) -> None:
        """Set the RPN conv's and the feature adaption's widths to ``subnet.head``."""
        self.rpn_conv.active_out = subnet.head
        self.feature_adaption.conv_adaption.active_out = subnet.head
