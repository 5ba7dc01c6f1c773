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


def test_searched_vs_hand_designed_table(tiny_data, tmp_path):
    cfg = str(config_path('supernet/quickstart_synthetic.py'))
    opts = ['--cfg-options', *tiny_options(tiny_data, 2), *TINY, 'subnet_search.n_trials=2',
            'subnet_search.population_size=2']
    run_tool('tools/train_supernet.py', cfg, '--work-dir', str(tmp_path / 'sn'), *opts)
    search = tmp_path / 'search'
    run_tool('tools/search_subnet.py', cfg, '--checkpoint', str(tmp_path / 'sn' / 'iter_2.pth'),
             '--work-dir', str(search), '--finalists', '1', *opts)
    run_tool('tools/retrain.py', str(search))
    log = run_tool('benchmarks/bench_searched_vs_hand.py', str(search), '--baselines', 'r18')
    out = json.loads((search / 'searched_vs_hand.json').read_text())
    kinds = {p['name']: p['kind'] for p in out['points']}
    assert kinds == {'E0': 'searched', 'R18': 'hand-designed'}
    r18 = next(p for p in out['points'] if p['name'] == 'R18')
    assert r18['arch'] == 'r18_fpn-p2p5-p6_rpn_rcnn_96x64' and r18['gflops'] > 0
    assert set(out['dominated_by']) == {'E0', 'R18'} and '| R18 |' in log
    assert (search / 'searched_vs_hand.png').is_file()


def test_dominance_names_who_dominates_whom():
    import importlib.util

    from smnas.utils.paths import REPO_ROOT
    path = REPO_ROOT / 'benchmarks' / 'bench_searched_vs_hand.py'
    spec = importlib.util.spec_from_file_location('bench', path)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    pts = [dict(name='E0', mAP=0.30, gflops=5.0), dict(name='R18', mAP=0.28, gflops=9.0),
           dict(name='R34', mAP=0.33, gflops=12.0), dict(name='E1', mAP=0.30, gflops=5.0)]
    dom = bench.dominance(pts)
    assert dom == {'E0': [], 'R18': ['E0', 'E1'], 'R34': [], 'E1': []}
