"""The benchmarks run end to end at toy scale (their numbers come from real runs)."""
import json

from smnas.testing import config_path

from .tool_helpers import run_tool, tiny_options

TINY = ['model.space.bases=[16,24]', 'model.space.neck_channels=[32,64]',
        'model.space.head_channels=[32,64]', 'model.space.max_depths=[1,2,1,1]',
        'model.num_random_subnets=0']


def test_rank_fidelity_runs_and_resumes(tiny_data, tmp_path):
    work = tmp_path / 'rank'
    args = ['benchmarks/bench_rank_fidelity.py', str(config_path('supernet/quickstart_synthetic.py')),
            '--work-dir', str(work), '--subnets', '3', '--cfg-options', *tiny_options(tiny_data, 2),
            *TINY, '--retrain-options', 'train_cfg.max_iters=2']
    log = run_tool(*args)
    assert 'Kendall tau' in log
    out = json.loads((work / 'rank_fidelity.json').read_text())
    tau = out['kendall_tau']
    assert len(out['subnets']) == 3
    assert tau != tau or -1.0 <= tau <= 1.0  # NaN when a toy run's mAPs are all equal
    flops = [r['gflops'] for r in out['subnets'].values()]
    assert len(set(flops)) == 3  # spread over the FLOPs range
    for r in out['subnets'].values():
        assert r['mAP_scratch'] is not None and r['scratch_seconds'] > 0 and r['inherited_seconds'] > 0
        assert abs(r['gflops_thop'] - r['gflops']) <= 0.01 * r['gflops']
    log = run_tool(*args)  # everything is stored: nothing is trained again
    assert 'training from scratch' not in log and 'inherited mAP' not in log
