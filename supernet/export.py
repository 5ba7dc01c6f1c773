"""Export a subnet of a supernet detector: a plain mmdet model config with fixed widths
and the supernet's weights sliced to it."""
import copy
from typing import Dict, Tuple

import torch

from .models.static import slice_state_dict
from .ops import gn_groups
from .space import Subnet

# searchable type -> how its static counterpart's config is made from the subnet
_STATIC = {
    'SearchableResNet': lambda c, s: dict(type='SubnetResNet', arch=str(s),
                                          out_indices=c.get('out_indices', (0, 1, 2, 3))),
    'SearchableFPN': lambda c, s: dict(
        {k: v for k, v in c.items() if k not in ('type', 'in_channels', 'out_channels', 'norm_cfg')},
        type='FPN', in_channels=[s.stage_widths()[i] for i in range(len(c['in_channels']))],
        out_channels=s.neck, conv_cfg=dict(type='ConvWS'),
        norm_cfg=dict(type='GN', num_groups=gn_groups(s.neck))),
    'SearchableRPNHead': lambda c, s: dict(c, type='RPNHead', in_channels=s.neck, feat_channels=s.head),
    'SearchableRoIExtractor': lambda c, s: dict(c, type='SingleRoIExtractor', out_channels=s.neck),
    'SearchableShared2FCBBoxHead': lambda c, s: dict(c, type='Shared2FCBBoxHead', in_channels=s.neck,
                                                     fc_out_channels=s.head),
}


def static_model_cfg(model_cfg: dict, subnet: Subnet) -> dict:
    """The supernet's model config with every searchable part replaced by its static
    counterpart at the widths of ``subnet`` (other keys unchanged)."""
    def convert(node):
        if isinstance(node, dict):
            node = {k: convert(v) for k, v in node.items()}
            if node.get('type') in _STATIC:
                node = _STATIC[node['type']](node, subnet)
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

    cfg = static_model_cfg(model_cfg, subnet)
    static = MODELS.build(ConfigDict(cfg))
    return cfg, slice_state_dict(state_dict, static)
