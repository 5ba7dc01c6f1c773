"""Export a subnet of a supernet detector: a plain mmdet model config with fixed widths
and the supernet's weights sliced to it. This is the one export path: every
searchable type has a stock (or static) counterpart, the config is rewritten to it,
and the state dict is sliced to its shapes. Writing finalists to files, with
checkpoint checks, belongs to the modular stage above this package.
"""
import copy
from typing import Callable, Dict, List, Tuple

import torch

from .models.static import slice_state_dict
from .ops import gn_groups
from .space import ModularSpace, Subnet


def _gn(channels: int) -> dict:
    return dict(type='GN', num_groups=gn_groups(channels), requires_grad=True)


def _static_backbone(c: dict, subnet: Subnet, space: ModularSpace) -> dict:
    out = dict(type='SubnetResNet', arch=str(subnet), out_indices=c.get('out_indices', (0, 1, 2, 3)))
    if space.block != 'basic':  # basic-block exports keep the form they always had
        out['block'] = space.block
    if c.get('num_stages', 4) != 4:  # a C4 detector: stage 4 is its RoI head
        out['num_stages'] = c['num_stages']
    return out


def _static_stage(c: dict, subnet: Subnet, space: ModularSpace) -> dict:
    out = dict(type='SubnetResStage', arch=str(subnet), stage=c.get('stage', 3))
    if space.block != 'basic':
        out['block'] = space.block
    return out


def _without(c: dict, *keys: str) -> dict:
    return {k: v for k, v in c.items() if k not in keys}


def _static_rules(subnet: Subnet, space: ModularSpace, in_widths: List[int], feat: int
                  ) -> Dict[str, Callable[[dict], dict]]:
    """Searchable type -> how its static counterpart's config is made from its config.
    ``feat``: the width the heads receive (the neck's; a C4 detector's stage-3 output)."""
    s = subnet
    return {
        'SearchableResNet': lambda c: _static_backbone(c, s, space),
        'SearchableResStage': lambda c: _static_stage(c, s, space),
        'SearchableFPN': lambda c: dict(
            _without(c, 'type', 'in_channels', 'out_channels'),
            type='FPN', in_channels=in_widths, out_channels=s.neck,
            conv_cfg=c.get('conv_cfg') or dict(type='ConvWS'), norm_cfg=_gn(s.neck)),
        'SearchableRPNHead': lambda c: dict(c, type='RPNHead', in_channels=feat, feat_channels=s.head),
        'SearchableGARPNHead': lambda c: dict(c, type='GARPNHeadFeat', in_channels=feat,
                                              feat_channels=s.head),
        'SearchableRetinaHead': lambda c: dict(
            c, type='RetinaHead', in_channels=feat, feat_channels=s.head,
            conv_cfg=c.get('conv_cfg') or dict(type='ConvWS'), norm_cfg=_gn(s.head)),
        'SearchableRoIExtractor': lambda c: dict(_without(c, 'stage', 'expansion'), type='SingleRoIExtractor',
                                                 out_channels=feat),
        'SearchableShared2FCBBoxHead': lambda c: dict(c, type='Shared2FCBBoxHead', in_channels=feat,
                                                      fc_out_channels=s.head),
        'SearchableBBoxHead': lambda c: dict(c, type='BBoxHead', in_channels=space.out_widths(s)[-1]),
    }


def static_model_cfg(model_cfg: dict, subnet: Subnet) -> dict:
    """The supernet's model config with every searchable part replaced by its static
    counterpart at the widths of ``subnet`` (a :class:`Subnet` or its string; other keys
    unchanged)."""
    subnet = Subnet.parse(subnet) if isinstance(subnet, str) else subnet
    backbone = model_cfg.get('backbone', {})
    out_indices = backbone.get('out_indices', (0, 1, 2, 3))
    space = backbone.get('space')
    space = space if isinstance(space, ModularSpace) else ModularSpace.from_dict(dict(space or {}))
    widths = space.out_widths(subnet)
    feat = subnet.neck if model_cfg.get('neck') else widths[out_indices[-1]]
    rules = _static_rules(subnet, space, space.feature_widths(subnet, out_indices), feat)

    def convert(node):
        if isinstance(node, dict):
            node = {k: convert(v) for k, v in node.items()}
            if node.get('type') in rules:
                node = rules[node['type']](node)
            return node
        if isinstance(node, (list, tuple)):
            return type(node)(convert(v) for v in node)
        return node
    return convert(copy.deepcopy(dict(model_cfg)))


def export_subnet(model_cfg: dict, state_dict: Dict[str, torch.Tensor], subnet: Subnet
                  ) -> Tuple[dict, Dict[str, torch.Tensor]]:
    """(static model config, its state dict) for ``subnet`` of a supernet.

    Args:
        model_cfg: the supernet's model config.
        state_dict: the supernet's weights.
        subnet: the subnet to export.
    """
    from mmdet.registry import MODELS
    from mmengine.config import ConfigDict
    from mmengine.registry import DefaultScope

    cfg = static_model_cfg(model_cfg, subnet)  # (parses a subnet string)
    # Outside a Runner no default scope is set; mmdet's types need it to resolve.
    with DefaultScope.overwrite_default_scope('mmdet'):
        static = MODELS.build(ConfigDict(cfg))
    return cfg, slice_state_dict(state_dict, static)
