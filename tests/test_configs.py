"""Every config under configs/ loads; every full config builds its detector."""
from pathlib import Path

import pytest
from mmengine.config import Config

from smnas.testing import CONFIG_DIR, build_detector

CONFIGS = sorted(p for p in CONFIG_DIR.rglob('*.py'))
# Search configs describe a space instead of one model.
SEARCH = [p for p in CONFIGS if p.parent.name == 'structural']
# Pipeline configs name the configs of their stages.
PIPELINES = [p for p in CONFIGS if p.parent.name == 'pipeline']
RUNNABLE = [p for p in CONFIGS if '_base_/' not in p.as_posix() and p not in SEARCH + PIPELINES]


def test_there_are_configs():
    assert len(CONFIGS) >= 8


@pytest.mark.parametrize('path', CONFIGS, ids=lambda p: str(p.relative_to(CONFIG_DIR)))
def test_config_loads(path: Path):
    cfg = Config.fromfile(str(path))
    if path in RUNNABLE:
        # A runnable config: model, data, schedule, runtime, our imports.
        for key in ('model', 'train_dataloader', 'val_evaluator', 'train_cfg', 'optim_wrapper'):
            assert key in cfg, f'{path} lacks {key}'
        assert 'smnas.register' in cfg.custom_imports['imports']
        assert any(b['type'] == 'TensorboardVisBackend' for b in cfg.visualizer.vis_backends)


@pytest.mark.parametrize('path', RUNNABLE, ids=lambda p: str(p.relative_to(CONFIG_DIR)))
def test_runnable_config_builds_its_model(path: Path):
    cfg = Config.fromfile(str(path))
    model = build_detector(cfg.model)
    assert sum(p.numel() for p in model.parameters()) > 1e6


@pytest.mark.parametrize('path', SEARCH, ids=lambda p: str(p.relative_to(CONFIG_DIR)))
def test_search_config_space_and_a_candidate_build(path: Path):
    import random

    from smnas.structural import StructuralSpace
    from smnas.structural.builder import build_config

    cfg = Config.fromfile(str(path))
    space = StructuralSpace.from_cfg(cfg.search_space)
    assert space.count() > 0 and cfg.search.n_trials >= 8
    cand = space.sample(random.Random(0))
    trial_cfg = build_config(cand, space, cfg, 3, dict(cfg.search.get('model_options', {})))
    assert trial_cfg.candidate['arch'] == str(cand)
    assert 'smnas.register' in trial_cfg.custom_imports['imports']


@pytest.mark.parametrize('path', PIPELINES, ids=lambda p: str(p.relative_to(CONFIG_DIR)))
def test_pipeline_config_stages_load_with_their_options(path: Path, tmp_path):
    from smnas.pipeline import Pipeline

    pipe = Pipeline(Config.fromfile(str(path)), str(tmp_path))
    structural = pipe._stage_cfg('structural')
    assert structural.search.n_trials == pipe.spec.structural.cfg_options['search.n_trials']
    supernet = pipe._stage_cfg('supernet')
    assert supernet.model.type == 'SandwichSupernet'


def test_the_quickstart_searches_only_structures_it_can_refine():
    """A space with unrefinable structures can leave none to refine; and halving's first
    rung must have candidates to choose among."""
    from smnas.modular.structure import structure_problems
    from smnas.structural import StructuralSpace

    pipe = Config.fromfile(str(CONFIG_DIR / 'pipeline' / 'quickstart_synthetic.py'))
    cfg = Config.fromfile(str((CONFIG_DIR / 'pipeline' / pipe.pipeline.structural.config).resolve()))
    cfg.merge_from_dict(dict(pipe.pipeline.structural.cfg_options))
    space = StructuralSpace.from_cfg(cfg.search_space)
    assert space.count() >= 6
    assert [str(c) for c in space.candidates() if structure_problems(c)] == []
