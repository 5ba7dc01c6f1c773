"""Every config under configs/ loads; every full config builds its detector."""
from pathlib import Path

import pytest
from mmengine.config import Config

from smnas.testing import CONFIG_DIR, build_detector

CONFIGS = sorted(p for p in CONFIG_DIR.rglob('*.py'))


def test_there_are_configs():
    assert len(CONFIGS) >= 8


@pytest.mark.parametrize('path', CONFIGS, ids=lambda p: str(p.relative_to(CONFIG_DIR)))
def test_config_loads(path: Path):
    cfg = Config.fromfile(str(path))
    if '_base_/' not in path.as_posix():
        # A runnable config: model, data, schedule, runtime, our imports.
        for key in ('model', 'train_dataloader', 'val_evaluator', 'train_cfg', 'optim_wrapper'):
            assert key in cfg, f'{path} lacks {key}'
        assert 'smnas' in cfg.custom_imports['imports']
        assert any(b['type'] == 'TensorboardVisBackend' for b in cfg.visualizer.vis_backends)


@pytest.mark.parametrize('path', [p for p in CONFIGS if '_base_/' not in p.as_posix()],
                         ids=lambda p: str(p.relative_to(CONFIG_DIR)))
def test_runnable_config_builds_its_model(path: Path):
    cfg = Config.fromfile(str(path))
    model = build_detector(cfg.model)
    assert sum(p.numel() for p in model.parameters()) > 1e6
