"""Supernet step timing (smnas.benchmarks.timing) and the amp benchmark on tiny data."""
import pytest
from mmengine.config import Config

from smnas.benchmarks.timing import supernet_step_seconds
from smnas.testing import config_path
from tests.tool_helpers import load_bench, tiny_supernet_cfg_options

CFG = str(config_path('supernet/quickstart_synthetic.py'))


def test_bench_amp_times_float32_and_bf16_trainings_of_the_same_supernet(tiny_data, tmp_path):
    bench = load_bench('bench_amp')
    opts = tiny_supernet_cfg_options(tiny_data, 3)
    out = bench.compare(CFG, 'bf16', procs=1, iters=3, rounds=1, cfg_options=opts)
    assert len(out['fp32_step_s']) == len(out['amp_step_s']) == 1
    assert out['fp32_step_s'][0] > 0 and out['amp_step_s'][0] > 0
    assert out['fp32_over_amp'] == pytest.approx(out['fp32_step_s'][0] / out['amp_step_s'][0])


def test_supernet_step_seconds_trains_as_asked_and_needs_a_timed_step(tiny_data, tmp_path):
    opts = dict(tiny_supernet_cfg_options(tiny_data, 3), amp='bf16')
    assert supernet_step_seconds(CFG, 1, 3, tmp_path / 'run', opts) > 0
    dumped = Config.fromfile(str(next((tmp_path / 'run').glob('*/vis_data/config.py'))))
    assert dumped.amp == 'bf16' and dumped.optim_wrapper.type == 'CpuBf16OptimWrapper'
    assert dumped.val_dataloader is None and dumped.train_cfg.max_iters == 3
    with pytest.raises(ValueError, match='warm-up'):
        supernet_step_seconds(CFG, 1, 2, tmp_path / 'short', opts)
