"""One candidate in its own process: result, NaN failure, timeout, reuse."""
import json

import pytest
from mmengine.config import Config

from smnas.data.synthetic import SyntheticConfig, generate
from smnas.search.trial import TrialFailed, read_stored, run_trial_subprocess
from smnas.structural import Candidate, StructuralSpace
from smnas.structural.builder import build_config
from smnas.testing import config_path

ARCH = 'mv2_fpn-p3p5-p5_none_retina_512x512'


@pytest.fixture(scope='module')
def base(tmp_path_factory):
    root = tmp_path_factory.mktemp('syn')
    generate(SyntheticConfig(image_size=(96, 64), num_train=6, num_val=3, seed=1), root)
    cfg = Config.fromfile(str(config_path('structural/quickstart_synthetic.py')))
    r = f'{root}/'
    cfg.merge_from_dict({
        'train_dataloader.dataset.data_root': r, 'test_dataloader.dataset.data_root': r,
        'test_evaluator.ann_file': r + 'annotations/instances_val.json',
        'train_cfg.max_iters': 2, 'train_dataloader.batch_size': 2, 'train_dataloader.num_workers': 0,
        'default_hooks.checkpoint.interval': 2, 'default_hooks.logger.interval': 1})
    cfg.measure = dict(warmup=1, repeats=2)
    return cfg


def make(base, arch=ARCH, **options):
    space = StructuralSpace.from_cfg(base.search_space)
    cfg = build_config(Candidate.parse(arch), space, base, 5,
                       dict(fpn_channels=32, fc_channels=64, rcnn_samples=32))
    cfg.measure = base.measure
    cfg.merge_from_dict(options)
    return cfg


def test_trial_trains_scores_measures_and_is_reused(base, tmp_path):
    result = run_trial_subprocess(make(base), tmp_path / ARCH, timeout=600)
    for key in ('mAP', 'mAP_50', 'latency_ms', 'flops', 'params', 'device', 'train_seconds'):
        assert getattr(result, key) is not None
    assert result.input_size == [96, 96] and result.flops > 0 and result.latency_ms > 0
    # the mAP's noise: a bootstrap over the val images, from the detections kept beside it
    assert result.detections == str(tmp_path / ARCH / 'detections.bbox.json')
    assert isinstance(json.loads((tmp_path / ARCH / 'detections.bbox.json').read_text()), list)
    lo, hi = result.mAP_ci95
    assert result.mAP_se >= 0 and lo - 5e-4 <= result.mAP <= hi + 5e-4
    assert json.loads((tmp_path / ARCH / 'result.json').read_text())['arch'] == ARCH
    assert (tmp_path / ARCH / 'config.py').is_file() and (tmp_path / ARCH / 'iter_2.pth').is_file()
    # a second call returns the stored result at once
    assert run_trial_subprocess(make(base), tmp_path / ARCH, timeout=5) == result


def test_diverging_candidate_fails_with_its_cause(base, tmp_path):
    cfg = make(base, **{'optim_wrapper.optimizer.lr': 1e12, 'optim_wrapper.clip_grad': None,
                        'param_scheduler': [], 'train_cfg.max_iters': 6})
    with pytest.raises(TrialFailed, match='non-finite'):
        run_trial_subprocess(cfg, tmp_path / 'nan', timeout=600)
    stored = read_stored(tmp_path / 'nan')
    assert stored['status'] == 'failed' and 'non-finite' in stored['error'] and stored['log_tail']


def test_timeout_kills_the_trial(base, tmp_path):
    with pytest.raises(TrialFailed, match='timeout'):
        run_trial_subprocess(make(base), tmp_path / 't', timeout=1)
    assert 'timeout' in read_stored(tmp_path / 't')['error']
