import pytest
from mmengine.config import Config

from smnas.engine import read_config, rescale_schedule, with_seed


def test_bccd_schedule_halved_keeps_its_shape():
    cfg = rescale_schedule(read_config('configs/supernet/bccd.py'), 300)
    assert cfg.train_cfg.max_iters == 300
    assert cfg.train_cfg.val_interval == 200
    warmup, step = cfg.param_scheduler
    assert (warmup.begin, warmup.end) == (0, 50)          # warm-up length kept
    assert step.end == 300 and step.milestones == [225, 270]  # 450/540 of 600 -> 75%/90% of 300
    assert cfg.default_hooks.checkpoint.interval == 100


def test_short_schedule_caps_warmup_and_intervals():
    cfg = rescale_schedule(read_config('configs/supernet/bccd.py'), 20)
    warmup, step = cfg.param_scheduler
    assert warmup.end == 20 and step.end == 20
    assert all(1 <= m < 20 for m in step.milestones)
    assert cfg.train_cfg.val_interval == 20 and cfg.default_hooks.checkpoint.interval == 20


def test_epoch_based_schedule_is_refused():
    cfg = Config(dict(train_cfg=dict(max_epochs=12)))
    with pytest.raises(ValueError, match='iteration-based'):
        rescale_schedule(cfg, 100)
    cfg = Config(dict(train_cfg=dict(max_iters=100),
                      param_scheduler=[dict(type='MultiStepLR', by_epoch=True, end=12, milestones=[8])]))
    with pytest.raises(ValueError, match='epoch-based'):
        rescale_schedule(cfg, 50)
    with pytest.raises(ValueError, match='at least 1'):
        rescale_schedule(cfg, 0)


def test_with_seed_keeps_the_other_randomness_keys():
    cfg = with_seed(Config(dict(randomness=dict(seed=0, deterministic=True))), 3)
    assert cfg.randomness == dict(seed=3, deterministic=True)
    assert with_seed(Config(dict()), 2).randomness == dict(seed=2)
