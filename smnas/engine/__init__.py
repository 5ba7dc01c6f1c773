"""Glue between configs, mmengine's Runner and the command-line tools."""
from .checkpoint import install_checkpoint_loader, load_local_checkpoint
from .hooks import FailOnNonFiniteLossHook, NonFiniteLossError
from .runner import (DictAction, default_work_dir, load_config, read_config, setup_launcher,
                     train_parser)
from .schedule import rescale_schedule, with_seed

__all__ = ['DictAction', 'FailOnNonFiniteLossHook', 'NonFiniteLossError', 'default_work_dir',
           'install_checkpoint_loader', 'load_config', 'load_local_checkpoint', 'read_config',
           'rescale_schedule', 'setup_launcher', 'train_parser', 'with_seed']
