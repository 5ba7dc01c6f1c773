"""Describe the software environment, so results say what produced them."""
import importlib.metadata
import platform
import sys
from typing import Dict

_PACKAGES = ('smnas', 'torch', 'torchvision', 'mmengine', 'mmcv', 'mmdet', 'numpy',
             'pycocotools', 'ultralytics-thop', 'optuna')


def collect_env_versions() -> Dict[str, str]:
    """Return Python, platform and the versions of the packages smnas depends on.

    Returns:
        Mapping of name to version string; packages that are not installed are
        reported as ``'not installed'``.
    """
    versions = {'python': sys.version.split()[0], 'platform': platform.platform()}
    for name in _PACKAGES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = 'not installed'
    return versions
