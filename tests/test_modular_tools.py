"""The modular stage's tools end to end on tiny data: train_supernet.py, then
search_subnet.py (finalists exported), then retrain.py (final table)."""
import json

import pytest

from smnas.testing import config_path

from .tool_helpers import TINY_SUPERNET_CLASSES, run_tool, tiny_options

CFG = str(config_path('supernet/quickstart_synthetic.py'))
TINY = ['model.space.bases=[16,24]', 'model.space.neck_channels=[32,64]',
        'model.space.head_channels=[32,64]', 'model.space.max_depths=[1,2,1,1]',
        'model.num_random_subnets=1', 'subnet_search.n_trials=4', 'subnet_search.population_size=4',
        TINY_SUPERNET_CLASSES]


@pytest.fixture(scope='module')
def trained(tiny_data):
    root = tiny_data
    work = root / 'supernet'
    opts = ['--cfg-options', *tiny_options(root, 2), *TINY]
    run_tool('tools/train_supernet.py', CFG, '--work-dir', str(work), *opts)
    return root, work / 'iter_2.pth', opts


def test_search_exports_finalists_and_retrain_fills_the_table(trained, tmp_path):
    root, ckpt, opts = trained
    work = tmp_path / 'search'
    log = run_tool('tools/search_subnet.py', CFG, '--checkpoint', str(ckpt), '--work-dir', str(work),
                   '--finalists', '1', *opts)  # one retraining keeps the suite fast
    assert '[subnet] 4/4 done' in log
    records = json.loads((work / 'finalists' / 'finalists.json').read_text())
    assert len(records) == 1
    for r in records:
        assert r['config'].endswith('.py') and r['checkpoint'].endswith('.pth')
    report = (work / 'report.md').read_text()
    assert '## Finalists' in report and 'E0' in report and (work / 'search.png').is_file()

    # (ONNX off: tests/test_pipeline.py checks the finalists' export, tests/deploy the tool)
    log = run_tool('tools/retrain.py', str(work), '--no-onnx', '--cfg-options', 'train_cfg.max_iters=2')
    records = json.loads((work / 'finalists' / 'finalists.json').read_text())
    for r in records:
        assert r['mAP_retrained'] is not None and r['latency_ms'] > 0 and r['params'] > 0
        # the thop count of the retrained static model equals the search's table FLOPs
        assert r['gflops_thop'] == pytest.approx(r['gflops'], rel=0.01)
        assert not r.get('onnx')
    report = (work / 'report.md').read_text()
    assert 'mAP retrained' in report and f'`{records[0]["arch"]}`' in report
    # a rerun keeps finished finalists
    log = run_tool('tools/retrain.py', str(work))
    assert 'from scratch' not in log


@pytest.mark.slow  # long; the fast suite keeps a sibling check
def test_retrain_chosen_subnets_without_a_search(tiny_data, tmp_path):
    opts = ['--cfg-options', *tiny_options(tiny_data, 2)]
    subnets = ['48_1-2-2-2_n128_h128', '48_11-2-2-2_n128_h128']
    work = tmp_path / 'chosen'
    log = run_tool('tools/retrain.py', str(work), '--config', CFG, '--subnets', *subnets, *opts)
    records = json.loads((work / 'finalists' / 'finalists.json').read_text())
    assert [r['arch'] for r in records] == subnets and [r['name'] for r in records] == ['E0', 'E1']
    for r in records:
        assert r['checkpoint'] is None and r['mAP_retrained'] is not None and r['params'] > 0
    # the deeper subnet counts more FLOPs; a rerun keeps both
    assert records[1]['gflops_thop'] > records[0]['gflops_thop']
    assert 'E1 48_11-2-2-2_n128_h128: mAP' in log
    rerun = run_tool('tools/retrain.py', str(work), '--config', CFG, '--subnets', *subnets, *opts)
    assert 'from scratch' not in rerun
    import subprocess
    import sys

    from smnas.testing import REPO_ROOT
    bad = subprocess.run([sys.executable, 'tools/retrain.py', str(tmp_path / 'bad'), '--config', CFG,
                          '--subnets', '40_1-2-2-2_n128_h128', *opts], cwd=REPO_ROOT, capture_output=True,
                         text=True, timeout=600)
    assert bad.returncode != 0 and 'base-choice' in bad.stderr


def test_refuses_a_range_without_subnets_before_evaluating(trained, tmp_path):
    root, ckpt, opts = trained
    import subprocess
    import sys

    from smnas.testing import REPO_ROOT
    proc = subprocess.run([sys.executable, 'tools/search_subnet.py', CFG, '--checkpoint', str(ckpt),
                           '--work-dir', str(tmp_path / 's'), '--flops-range', '500', '900', *opts],
                          cwd=REPO_ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode != 0 and 'excludes every subnet' in proc.stderr
    assert not (tmp_path / 's' / 'trials').exists()
