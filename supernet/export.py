"""Export a subnet of a supernet detector: a plain mmdet model config with fixed widths
and the supernet's weights sliced to it."""
import copy
import os
from typing import Callable, Dict, List, Tuple

import torch

from .build import expand_architecture
from .models.static import slice_state_dict
from .ops import gn_groups
from .space import Subnet


def _gn(channels: int) -> dict:
    return dict(type='GN', num_groups=gn_groups(channels), requires_grad=True)


def _static_rules(subnet: Subnet, in_widths: List[int]) -> Dict[str, Callable[[dict], dict]]:
    """Searchable type -> how its static counterpart's config is made from its config."""
    s = subnet
    return {
        'SearchableResNet': lambda c: dict(type='SubnetResNet', arch=str(s),
                                           out_indices=c.get('out_indices', (0, 1, 2, 3))),
        'SearchableFPN': lambda c: dict(
            {k: v for k, v in c.items() if k not in ('type', 'in_channels', 'out_channels')},
            type='FPN', in_channels=in_widths, out_channels=s.neck,
            conv_cfg=c.get('conv_cfg') or dict(type='ConvWS'), norm_cfg=_gn(s.neck)),
        'SearchableRPNHead': lambda c: dict(c, type='RPNHead', in_channels=s.neck, feat_channels=s.head),
        'SearchableRetinaHead': lambda c: dict(
            c, type='RetinaHead', in_channels=s.neck, feat_channels=s.head,
            conv_cfg=c.get('conv_cfg') or dict(type='ConvWS'), norm_cfg=_gn(s.head)),
        'SearchableRoIExtractor': lambda c: dict(c, type='SingleRoIExtractor', out_channels=s.neck),
        'SearchableShared2FCBBoxHead': lambda c: dict(c, type='Shared2FCBBoxHead', in_channels=s.neck,
                                                      fc_out_channels=s.head),
    }


def static_model_cfg(model_cfg: dict, subnet: Subnet) -> dict:
    """The supernet's model config with every searchable part replaced by its static
    counterpart at the widths of ``subnet`` (other keys unchanged)."""
    out_indices = model_cfg.get('backbone', {}).get('out_indices', (0, 1, 2, 3))
    widths = subnet.stage_widths()
    rules = _static_rules(subnet, [widths[i] for i in out_indices])

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

    cfg = static_model_cfg(model_cfg, subnet)
    # Outside a Runner no default scope is set; mmdet's types need it to resolve.
    with DefaultScope.overwrite_default_scope('mmdet'):
        static = MODELS.build(ConfigDict(cfg))
    return cfg, slice_state_dict(state_dict, static)


class NotASupernetCheckpoint(ValueError):
    """The checkpoint was not written by supernet training, or for another space."""


def check_checkpoint_space(checkpoint: dict, space_dict: dict, path: str = 'checkpoint') -> None:
    """Refuse a checkpoint that is not a supernet of ``space_dict``.

    Raises:
        NotASupernetCheckpoint: with both spaces shown when they differ.
    """
    stored = (checkpoint.get('meta') or {}).get('supernet_space')
    if stored is None:
        raise NotASupernetCheckpoint(
            f'{path} is not a supernet checkpoint (its meta has no "supernet_space"; supernet '
            f'checkpoints are written by tools/train_supernet.py)')
    if stored != space_dict:
        raise NotASupernetCheckpoint(
            f'{path} was trained on another search space:\n  checkpoint: {stored}\n'
            f'  config:     {space_dict}')


def _static_config(cfg, subnet):
    """(the supernet config with its model replaced by ``subnet``'s static one, the
    validated subnet, its space, the supernet's expanded model config)."""
    from mmengine.config import Config

    from .space import ModularSpace

    space = ModularSpace.from_dict(dict(cfg.model.space))
    sub = space.validate(subnet)
    arch_cfg = expand_architecture(cfg.model.architecture.to_dict(), space)
    out = Config(cfg.to_dict() if hasattr(cfg, 'to_dict') else dict(cfg))
    out.model = static_model_cfg(arch_cfg, sub)
    out.pop('space', None)
    out.val_cfg = dict(type='ValLoop')
    out.custom_hooks = [h for h in out.get('custom_hooks', []) if h.get('type') != 'SupernetMetaHook']
    out.custom_imports = dict(imports=['smnas', 'supernet'], allow_failed_imports=False)
    return out, sub, space, arch_cfg


def export_config(cfg, subnet, out_dir: str) -> str:
    """Write ``<out_dir>/<subnet>.py``: the plain mmdet config of ``subnet`` with fixed
    widths and no weights, all that training it from scratch needs (no supernet
    checkpoint).

    Args:
        cfg: the supernet's mmengine config (``model.type == 'SandwichSupernet'``).
        subnet: the subnet (string or :class:`Subnet`).
        out_dir: output folder.

    Returns:
        The config's path.

    Raises:
        supernet.space.InvalidSubnet: the subnet is outside the space.
    """
    out, sub, _, _ = _static_config(cfg, subnet)
    os.makedirs(out_dir, exist_ok=True)
    cfg_path = os.path.join(out_dir, f'{sub}.py')
    out.load_from = None
    out.dump(cfg_path)
    return cfg_path


def export_to_files(cfg, checkpoint_path: str, subnet, out_dir: str) -> Tuple[str, str]:
    """Write ``<out_dir>/<subnet>.py`` (a plain mmdet config with fixed widths) and
    ``<out_dir>/<subnet>.pth`` (the supernet's weights sliced to the subnet).

    Args:
        cfg: the supernet's mmengine config (``model.type == 'SandwichSupernet'``).
        checkpoint_path: a checkpoint written by supernet training.
        subnet: the subnet (string or :class:`Subnet`).
        out_dir: output folder.

    Returns:
        (config path, checkpoint path).

    Raises:
        NotASupernetCheckpoint: wrong kind of checkpoint or another space.
        supernet.space.InvalidSubnet: the subnet is outside the space.
    """
    from smnas.engine import load_local_checkpoint
    from smnas.utils import collect_env_versions

    out, sub, space, arch_cfg = _static_config(cfg, subnet)
    ckpt = load_local_checkpoint(checkpoint_path, map_location='cpu')
    check_checkpoint_space(ckpt, space.to_dict(), checkpoint_path)
    prefix = 'architecture.'
    arch_sd = {k[len(prefix):]: v for k, v in ckpt['state_dict'].items() if k.startswith(prefix)}
    _, sd = export_subnet(arch_cfg, arch_sd, sub)
    os.makedirs(out_dir, exist_ok=True)
    cfg_path = os.path.join(out_dir, f'{sub}.py')
    ckpt_path = os.path.join(out_dir, f'{sub}.pth')
    out.load_from = ckpt_path
    out.dump(cfg_path)
    torch.save(dict(state_dict=sd, meta=dict(subnet=str(sub), supernet_space=space.to_dict(),
                                             source=os.path.abspath(checkpoint_path),
                                             versions=collect_env_versions())), ckpt_path)
    return cfg_path, ckpt_path
