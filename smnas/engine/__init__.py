"""Glue between configs, mmengine's Runner and the command-line tools."""
from .checkpoint import install_checkpoint_loader, load_local_checkpoint
from .runner import DictAction, load_config, setup_launcher

__all__ = ['DictAction', 'install_checkpoint_loader', 'load_config', 'load_local_checkpoint',
           'setup_launcher']
