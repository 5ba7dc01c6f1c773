"""Every training and scoring run checks the model's class count against the dataset's
before its first step."""
import argparse

import pytest
from mmengine.runner import Runner

from smnas.engine import ClassCountMismatch, DictAction, load_config, read_config, with_run_checks
from smnas.engine.hooks import model_class_counts
from smnas.testing import build_detector, config_path
from tests.tool_helpers import tiny_options


def _cfg(tiny_data, tmp_path, num_classes):
    p = argparse.ArgumentParser()
    p.add_argument('--o', nargs='+', action=DictAction)
    opts = p.parse_args(['--o', *tiny_options(tiny_data, 1)]).o
    cfg = read_config(str(config_path('baseline/faster-rcnn_r18-gnws_fpn_synthetic.py')), opts)
    cfg.model.roi_head.bbox_head.num_classes = num_classes
    cfg.work_dir = str(tmp_path / 'w')
    return cfg


def test_heads_that_classify_are_counted(tiny_data, tmp_path):
    model = build_detector(_cfg(tiny_data, tmp_path, 7).model)
    assert model_class_counts(model) == {'roi_head.bbox_head': 7}  # the RPN head is not a classifier


def test_a_wrong_class_count_stops_before_the_first_step(tiny_data, tmp_path):
    cfg = with_run_checks(_cfg(tiny_data, tmp_path, 3))  # the tiny data has 5 classes
    runner = Runner.from_cfg(cfg)
    with pytest.raises(ClassCountMismatch, match=r'num_classes=3, but the dataset has 5 \(circle'):
        runner.train()
    assert runner.iter == 0
    with pytest.raises(ClassCountMismatch, match='validation dataset'):
        runner.val()


def test_the_tools_configs_carry_the_checks(tmp_path):
    cfg = load_config(str(config_path('supernet/quickstart_synthetic.py')), str(tmp_path))
    kinds = [h['type'] for h in cfg.custom_hooks]
    assert 'ClassCountCheckHook' in kinds and 'SupernetMetaHook' in kinds
    assert with_run_checks(cfg).custom_hooks == cfg.custom_hooks  # idempotent
