"""Local checkpoint loading for mmengine 0.10.7 on torch >= 2.6.

torch 2.6 changed ``torch.load``'s default to ``weights_only=True``. mmengine 0.10.7
predates that: its checkpoints carry the message hub (``HistoryBuffer``, numpy
scalars and dtypes), so ``--resume`` and ``load_from`` fail with "Weights only load
failed". mmengine's local loader is re-registered here with the behaviour it was
written for (full unpickling). As before torch 2.6, only load checkpoints you trust;
``torch.load`` elsewhere keeps torch's default.
"""
import os.path as osp

import torch
from mmengine.runner.checkpoint import CheckpointLoader


def load_local_checkpoint(filename: str, map_location=None):
    """Load a local checkpoint file as mmengine <= 0.10.7 expects.

    Args:
        filename: path of the checkpoint.
        map_location: as for :func:`torch.load`.

    Returns:
        The loaded checkpoint (usually a dict with ``state_dict``, ``meta``...).

    Raises:
        FileNotFoundError: the file does not exist.
    """
    filename = osp.expanduser(filename)
    if not osp.isfile(filename):
        raise FileNotFoundError(f'checkpoint {filename} can not be found.')
    return torch.load(filename, map_location=map_location, weights_only=False)


def install_checkpoint_loader() -> None:
    """Make mmengine use :func:`load_local_checkpoint` for local paths (idempotent)."""
    CheckpointLoader.register_scheme(prefixes='', loader=load_local_checkpoint, force=True)
