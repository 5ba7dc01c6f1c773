"""Shared set-up of the thin ``tools/`` scripts: config loading and launchers.

Keeps the tools to argparse + :func:`load_config` + mmengine's ``Runner``.
"""
import argparse
import os
import os.path as osp
from typing import Optional

import torch
import torch.distributed as torch_dist
from mmengine.config import Config, DictAction

from .precision import AMP_CHOICES, with_amp

__all__ = ['DictAction', 'default_work_dir', 'load_config', 'read_config', 'setup_launcher',
           'train_parser']


def read_config(config: str, cfg_options: Optional[dict] = None) -> Config:
    """An mmengine config with ``--cfg-options`` overrides (dotted keys) applied.

    Raises:
        FileNotFoundError: the file does not exist.
    """
    if not osp.isfile(config):
        raise FileNotFoundError(f'config file {config} does not exist')
    cfg = Config.fromfile(config)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    return cfg


def default_work_dir(config: str, suffix: str = '') -> str:
    """``work_dirs/<config name><suffix>``, the tools' default output folder."""
    return osp.join('./work_dirs', osp.splitext(osp.basename(config))[0] + suffix)


def train_parser(description: str) -> argparse.ArgumentParser:
    """The command line shared by the training tools: config, --work-dir, --resume,
    --cfg-options, --amp, --launcher."""
    p = argparse.ArgumentParser(description=description)
    p.add_argument('config', help='config file')
    p.add_argument('--work-dir', help='where logs, checkpoints and TensorBoard events go')
    p.add_argument('--resume', nargs='?', const='auto', default=None,
                   help='resume from CHECKPOINT, or without a value from the latest one in the work dir')
    p.add_argument('--cfg-options', nargs='+', action=DictAction,
                   help='override config keys, e.g. train_cfg.max_iters=100')
    p.add_argument('--amp', nargs='?', const='auto', choices=AMP_CHOICES,
                   help='mixed-precision training: fp16 on a GPU (mmengine AmpOptimWrapper, dynamic loss '
                        'scale), bf16 on a CPU (fast with AMX or AVX512-BF16); without a value the '
                        "device's; the config's `amp` key does the same")
    p.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'], default='none')
    p.add_argument('--local_rank', '--local-rank', type=int, default=0)
    return p


def load_config(config: str, work_dir: Optional[str] = None, cfg_options: Optional[dict] = None,
                launcher: str = 'none', resume: Optional[str] = None, amp: Optional[str] = None) -> Config:
    """Load an mmengine config and apply the common command-line overrides.

    Args:
        config: path of the config file.
        work_dir: output folder; default ``work_dirs/<config name>`` (or the
            config's own ``work_dir``).
        cfg_options: ``--cfg-options`` overrides (dotted keys).
        launcher: 'none', 'pytorch', 'slurm' or 'mpi'.
        resume: None (no resume), 'auto' (latest checkpoint in the work dir) or a
            checkpoint path.
        amp: mixed precision (:func:`~smnas.engine.precision.with_amp`): None keeps the
            config's ``amp`` key (float32 without one), 'auto', 'fp16' or 'bf16'.

    Returns:
        The config, ready for ``Runner.from_cfg``.
    """
    from .hooks import with_run_checks

    cfg = with_amp(with_run_checks(read_config(config, cfg_options)), amp)
    cfg.launcher = launcher
    if work_dir is not None:
        cfg.work_dir = work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = default_work_dir(config)
    if resume == 'auto':
        from mmengine.runner import find_latest_checkpoint

        # Resume where this work dir stopped; a first run keeps the config's ``load_from``
        # (its initial weights: mmengine's auto-resume would drop them for nothing).
        if osp.isdir(cfg.work_dir) and find_latest_checkpoint(cfg.work_dir):
            cfg.resume = True
            cfg.load_from = None
        else:
            cfg.resume = False
    elif resume is not None:
        if not osp.isfile(resume):
            raise FileNotFoundError(f'checkpoint to resume from, {resume}, does not exist')
        cfg.resume = True
        cfg.load_from = resume
    setup_launcher(cfg, launcher)
    return cfg


def setup_launcher(cfg: Config, launcher: str) -> None:
    """Make distributed launchers work on machines without GPUs.

    mmengine 0.10.7's ``pytorch`` launcher calls ``torch.cuda.set_device`` even for
    the gloo backend, and its DDP wrapper defaults to ``device_ids=[LOCAL_RANK]``,
    so ``torchrun`` fails on a CPU machine. Without CUDA we initialise the gloo
    process group ourselves (the Runner then skips its own initialisation) and
    wrap the model with ``device_ids=None``. With CUDA nothing changes.

    Args:
        cfg: the config (modified in place).
        launcher: the launcher name.
    """
    if launcher == 'none' or torch.cuda.is_available():
        return
    if launcher != 'pytorch':
        raise ValueError(f'launcher {launcher!r} needs GPUs; on a CPU machine use torchrun '
                         f'with --launcher pytorch')
    env_cfg = cfg.setdefault('env_cfg', {})
    env_cfg.setdefault('dist_cfg', {})['backend'] = 'gloo'
    if not torch_dist.is_initialized():
        torch_dist.init_process_group(backend='gloo', rank=int(os.environ['RANK']),
                                      world_size=int(os.environ['WORLD_SIZE']))
    wrapper = cfg.get('model_wrapper_cfg', None) or dict(
        type='MMDistributedDataParallel', broadcast_buffers=False,
        find_unused_parameters=cfg.get('find_unused_parameters', False))
    wrapper['device_ids'] = None
    cfg.model_wrapper_cfg = wrapper
