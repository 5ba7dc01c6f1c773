"""Shared helpers with no dependency on mmdet: atomic I/O and environment description."""
from .env import collect_env_versions
from .io import atomic_write_bytes, atomic_write_json, atomic_write_text, file_lock

__all__ = ['atomic_write_bytes', 'atomic_write_json', 'atomic_write_text',
           'collect_env_versions', 'file_lock']
