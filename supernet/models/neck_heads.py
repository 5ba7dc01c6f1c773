"""Searchable FPN, RPN head, RetinaNet head, RoI extractor and box head: stock mmdet
modules with their layers swapped for dynamic ones of the same names.

Keeping mmdet's module names means a subnet exports to the *stock* mmdet module at
fixed widths (``FPN``, ``RPNHead``, ``RetinaHead``, ``Shared2FCBBoxHead``, a Cascade
R-CNN's list of the latter, and a C4 detector's ``BBoxHead``) with the supernet's state
dict sliced to its shapes: the exported config needs nothing of ours but the backbone
(and a C4 detector's res5 head, a Guided-Anchor RPN: :mod:`supernet.models.static`,
:mod:`supernet.models.guided`).
"""
from typing import List, Optional

from mmcv.cnn.bricks.conv_ws import ConvWS2d
from mmdet.models.dense_heads import RetinaHead, RPNHead
from mmdet.models.necks import FPN
from mmdet.models.roi_heads.bbox_heads import BBoxHead, Shared2FCBBoxHead
from mmdet.models.roi_heads.roi_extractors import SingleRoIExtractor
from mmdet.registry import MODELS

from ..ops import DynamicConv2d, DynamicGroupNorm, DynamicLinear, gn_groups


def _dynamic_conv_module(cm) -> None:
    """Swap an mmcv ConvModule's conv (with WS if it had it) and GroupNorm for dynamic
    ones of the same maximum sizes, in place."""
    conv = cm.conv
    cm.conv = DynamicConv2d(conv.in_channels, conv.out_channels, conv.kernel_size, conv.stride,
                            conv.padding, conv.dilation, bias=conv.bias is not None,
                            weight_std=isinstance(conv, ConvWS2d))
    if getattr(cm, 'norm_name', None):
        setattr(cm, cm.norm_name, DynamicGroupNorm(conv.out_channels))


def _gn_cfg(kwargs: dict, channels: int) -> None:
    """Default GN + WS, and GN groups of a fixed size (what DynamicGroupNorm uses)."""
    kwargs.setdefault('conv_cfg', dict(type='ConvWS'))
    norm = kwargs.get('norm_cfg') or dict(type='GN')
    if norm.get('type') != 'GN':
        raise ValueError(f'searchable modules use GroupNorm (any width is valid), not {norm["type"]}')
    kwargs['norm_cfg'] = dict(norm, num_groups=gn_groups(channels))


@MODELS.register_module()
class SearchableFPN(FPN):
    """mmdet's FPN (GN + WS) whose output width follows the subnet's neck width.

    Args:
        in_channels: largest width of each input level.
        out_channels: largest output width.
        num_outs: output levels (extra levels by max-pool, or by convs with
            ``add_extra_convs``, as for mmdet's FPN).
        **kwargs: other ``FPN`` arguments.
    """

    def __init__(self, in_channels: List[int], out_channels: int, num_outs: int, **kwargs):
        _gn_cfg(kwargs, out_channels)
        super().__init__(in_channels, out_channels, num_outs, **kwargs)
        for cm in list(self.lateral_convs) + list(self.fpn_convs):
            _dynamic_conv_module(cm)

    def apply_subnet(self, subnet) -> None:
        """Set the output width to ``subnet.neck``."""
        for cm in list(self.lateral_convs) + list(self.fpn_convs):
            cm.conv.active_out = subnet.neck


@MODELS.register_module()
class SearchableRPNHead(RPNHead):
    """mmdet's RPNHead whose conv width follows the subnet's head width; its input
    width follows the neck. Arguments as ``RPNHead`` (at maximum widths)."""

    def _init_layers(self) -> None:
        super()._init_layers()
        self.rpn_conv = DynamicConv2d(self.in_channels, self.feat_channels, 3, padding=1, bias=True)
        out_cls = self.rpn_cls.out_channels
        out_reg = self.rpn_reg.out_channels
        self.rpn_cls = DynamicConv2d(self.feat_channels, out_cls, 1, bias=True)
        self.rpn_reg = DynamicConv2d(self.feat_channels, out_reg, 1, bias=True)

    def apply_subnet(self, subnet) -> None:
        """Set the RPN conv width to ``subnet.head``."""
        self.rpn_conv.active_out = subnet.head


@MODELS.register_module()
class SearchableRoIExtractor(SingleRoIExtractor):
    """``SingleRoIExtractor`` whose output width is the active neck width.

    mmdet reads ``out_channels`` to allocate the RoI features; here it is derived
    from ``active_out`` (set by the mutator, like every searchable width) and the
    maximum width given at construction, never overwritten.

    Args:
        stage: None (default): RoIs are pooled from the neck, at the subnet's neck
            width; a stage (0-based): from that backbone stage's output (a C4
            detector pools stage 3, index 2), at its width.
        expansion: stage output width per block width (the space's ``expansion``).
        *args, **kwargs: as for ``SingleRoIExtractor`` (at the largest width).
    """

    def __init__(self, *args, stage: Optional[int] = None, expansion: int = 1, **kwargs):
        self.active_out: Optional[int] = None
        self.stage, self.expansion = stage, int(expansion)
        super().__init__(*args, **kwargs)

    @property
    def out_channels(self) -> int:
        return self.active_out or self._max_out

    @out_channels.setter
    def out_channels(self, value: int) -> None:  # mmdet's __init__ sets the maximum
        self._max_out = int(value)

    def apply_subnet(self, subnet) -> None:
        self.active_out = (subnet.neck if self.stage is None
                           else subnet.stage_widths()[self.stage] * self.expansion)


@MODELS.register_module()
class SearchableShared2FCBBoxHead(Shared2FCBBoxHead):
    """mmdet's 2-fc box head; fc width = subnet head width, input = neck width x 7 x 7.

    The flattened RoI feature is channel-major, so the leading ``C x 7 x 7`` input
    features of the first fc are exactly the first ``C`` channels.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        fc0, fc1 = self.shared_fcs
        self.shared_fcs[0] = DynamicLinear(fc0.in_features, fc0.out_features)
        self.shared_fcs[1] = DynamicLinear(fc1.in_features, fc1.out_features)
        if self.with_cls:
            self.fc_cls = DynamicLinear(self.fc_cls.in_features, self.fc_cls.out_features)
        if self.with_reg:
            self.fc_reg = DynamicLinear(self.fc_reg.in_features, self.fc_reg.out_features)

    def apply_subnet(self, subnet) -> None:
        """Set both fc widths to ``subnet.head``."""
        for fc in self.shared_fcs:
            fc.active_out = subnet.head


@MODELS.register_module()
class SearchableBBoxHead(BBoxHead):
    """mmdet's ``BBoxHead`` with average pooling (a C4 detector's box head after its
    res5 stage): one fc for the classes and one for the boxes, whose input width
    follows the subnet's res5 width. Arguments as ``BBoxHead`` (at the largest width)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.with_avg_pool:
            raise ValueError('SearchableBBoxHead pools its RoI features (with_avg_pool=True)')
        if self.with_cls:
            self.fc_cls = DynamicLinear(self.fc_cls.in_features, self.fc_cls.out_features)
        if self.with_reg:
            self.fc_reg = DynamicLinear(self.fc_reg.in_features, self.fc_reg.out_features)


@MODELS.register_module()
class SearchableRetinaHead(RetinaHead):
    """mmdet's RetinaHead (GN + WS stacked convs) whose stacked convs have the subnet's
    head width; its input width follows the neck. Arguments as ``RetinaHead`` (at
    maximum widths)."""

    def __init__(self, num_classes: int, in_channels: int, **kwargs):
        _gn_cfg(kwargs, kwargs.get('feat_channels', 256))
        super().__init__(num_classes, in_channels, **kwargs)

    def _init_layers(self) -> None:
        super()._init_layers()
        for cm in list(self.cls_convs) + list(self.reg_convs):
            _dynamic_conv_module(cm)
        for name in ('retina_cls', 'retina_reg'):
            conv = getattr(self, name)
            setattr(self, name, DynamicConv2d(conv.in_channels, conv.out_channels, 3, padding=1,
                                              bias=True))

    def apply_subnet(self, subnet) -> None:
        """Set the stacked convs' width to ``subnet.head``."""
        for cm in list(self.cls_convs) + list(self.reg_convs):
            cm.conv.active_out = subnet.head
