"""Glue between configs, mmengine's Runner and the command-line tools."""
from .checkpoint import install_checkpoint_loader, load_local_checkpoint
from .hooks import (ClassCountCheckHook, ClassCountMismatch, FailOnNonFiniteLossHook, NonFiniteLossError,
                    with_run_checks)
from .precision import AMP_CHOICES, CpuBf16OptimWrapper, with_amp
from .runner import (DictAction, default_work_dir, load_config, read_config, setup_launcher,
                     train_parser)
from .schedule import rescale_schedule, with_seed

__all__ = ['AMP_CHOICES', 'ClassCountCheckHook', 'ClassCountMismatch', 'CpuBf16OptimWrapper', 'DictAction',
           'FailOnNonFiniteLossHook', 'NonFiniteLossError', 'default_work_dir', 'install_checkpoint_loader',
           'load_config', 'load_local_checkpoint', 'read_config', 'rescale_schedule', 'setup_launcher',
           'train_parser', 'with_amp', 'with_run_checks', 'with_seed']
