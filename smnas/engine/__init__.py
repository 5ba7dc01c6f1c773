"""Glue between configs, mmengine's Runner and the command-line tools."""
from .runner import DictAction, load_config, setup_launcher

__all__ = ['DictAction', 'load_config', 'setup_launcher']
