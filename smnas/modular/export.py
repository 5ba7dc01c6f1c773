"""Exporting subnets of a trained supernet to files: a plain mmdet config with fixed
widths (:func:`supernet.export.static_model_cfg`) and the supernet's weights sliced to
it (:func:`supernet.export.export_subnet`), refusing checkpoints of another space."""
import os
from typing import Tuple

import torch
from supernet.build import expand_architecture
from supernet.export import export_subnet, static_model_cfg
from supernet.space import ModularSpace

from ..engine import load_local_checkpoint
from ..utils import collect_env_versions


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


def check_checkpoint_weights(checkpoint: dict, model: torch.nn.Module, path: str = 'checkpoint') -> None:
    """Refuse a supernet checkpoint whose weights are not this model's: same space, but
    another detector around it (e.g. a RetinaNet supernet loaded into a Faster R-CNN
    config). Loading it non-strictly would score a half-random detector near 0 mAP.

    Raises:
        NotASupernetCheckpoint: naming the first missing and unexpected weights.
    """
    weights = checkpoint.get('state_dict', checkpoint)
    own = model.state_dict()
    missing, unexpected = sorted(set(own) - set(weights)), sorted(set(weights) - set(own))
    resized = sorted(f'{k} {tuple(weights[k].shape)} vs {tuple(v.shape)}' for k, v in own.items()
                     if k in weights and tuple(weights[k].shape) != tuple(v.shape))
    if missing or unexpected or resized:
        def show(keys):
            return ', '.join(keys[:3]) + (f' (+{len(keys) - 3} more)' if len(keys) > 3 else '') or 'none'
        raise NotASupernetCheckpoint(
            f'{path} holds the weights of another supernet than this config builds (another '
            f'structure or class count?): {len(missing)} of the model\'s weights are missing '
            f'({show(missing)}), {len(unexpected)} are unexpected ({show(unexpected)}), {len(resized)} have '
            f'another shape ({show(resized)}); use the config the supernet was trained with (its work '
            f'dir holds config.py)')


def _static_config(cfg, subnet):
    """(the supernet config with its model replaced by ``subnet``'s static one, the
    validated subnet, its space, the supernet's expanded model config)."""
    from mmengine.config import Config

    space = ModularSpace.from_dict(dict(cfg.model.space))
    sub = space.validate(subnet)
    arch_cfg = expand_architecture(cfg.model.architecture.to_dict(), space)
    out = Config(cfg.to_dict() if hasattr(cfg, 'to_dict') else dict(cfg))
    out.model = static_model_cfg(arch_cfg, sub)
    out.pop('space', None)
    out.val_cfg = dict(type='ValLoop')
    out.custom_hooks = [h for h in out.get('custom_hooks', []) if h.get('type') != 'SupernetMetaHook']
    out.custom_imports = dict(imports=['smnas.register'], allow_failed_imports=False)
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
        supernet.InvalidSubnet: the subnet is outside the space.
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
        NotASupernetCheckpoint: wrong kind of checkpoint, another space, or a few-shot part
            that the subnet is not in.
        supernet.InvalidSubnet: the subnet is outside the space.
    """
    out, sub, space, arch_cfg = _static_config(cfg, subnet)
    ckpt = load_local_checkpoint(checkpoint_path, map_location='cpu')
    check_checkpoint_space(ckpt, space.to_dict(), checkpoint_path)
    from .parts import check_checkpoint_part  # parts builds on this module

    check_checkpoint_part(ckpt, sub, checkpoint_path)
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
