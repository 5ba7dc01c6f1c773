"""The GPU check script's own path, run on the CPU (the GPU numbers need a GPU machine)."""
import json
import subprocess
import sys

import pytest

from smnas.utils.paths import REPO_ROOT


def _run(tmp_path, *steps):
    out = tmp_path / 'gpu_check.json'
    cmd = [sys.executable, 'benchmarks/gpu/check.py', '--device', 'cpu', '--quick', '--out', str(out),
           '--work-dir', str(tmp_path / 'w')]
    if steps:
        cmd += ['--steps', *steps]
    proc = subprocess.run(cmd, cwd=REPO_ROOT, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return json.loads(out.read_text())


def test_install_step_reports_json(tmp_path):
    res = _run(tmp_path, 'install')
    assert res['device'] == 'cpu' and list(res['steps']) == ['install']
    assert res['steps']['install']['ok'] and res['steps']['install']['verify_exit_code'] == 0


@pytest.mark.slow  # about 4 minutes on 2 cores
def test_every_step(tmp_path):
    res = _run(tmp_path)
    scoring = res['steps']['scoring']
    assert scoring['images'] == 16 and len(scoring['seconds_per_subnet']) == 4
    assert all(s['ok'] for s in res['steps'].values()), res
    assert res['steps']['retrain']['error'] is None
    assert set(res['steps']['latency']) >= {'min_160x120', 'max_800x608'}


@pytest.mark.slow  # two tiny trainings side by side through the shell wrapper (about a minute)
def test_rank_script_path_on_cpu(tmp_path):
    """benchmarks/gpu/rank.sh on the CPU: its install step is skipped (mmdet importable), the
    truth is trained before any supernet and recorded where the GPU run would record it."""
    import os

    from smnas.data.synthetic import SyntheticConfig, generate
    from tests.test_benchmarks import TINY
    from tests.tool_helpers import tiny_options

    generate(SyntheticConfig(image_size=(96, 64), num_train=4, num_val=3, seed=2), tmp_path / 'data')
    proc = subprocess.run(['bash', 'benchmarks/gpu/rank.sh', '--subnets', '2', '--scratch-seeds', '1',
                           '--scratch-iters', '2', '--jobs', '2', '--cfg-options',
                           *tiny_options(tmp_path / 'data', 2), *TINY],
                          cwd=REPO_ROOT, capture_output=True, text=True, timeout=900,
                          env=dict(os.environ, OUT=str(tmp_path / 'out'), PYTHON=sys.executable,
                                   SMNAS_RANK_WORK=str(tmp_path / 'work'), SMNAS_RANK_RESUME=''))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    record = json.loads((tmp_path / 'out' / 'rank_fidelity_gpu.json').read_text())
    assert len(record['subnets']) == 2 and all('mAP_scratch' in r for r in record['subnets'].values())
    assert (tmp_path / 'work' / 'truth.json').is_file() and not (tmp_path / 'work' / 'supernet').exists()
    # a later GPU machine: a fresh work dir and $OUT, resumed from the committed record
    proc = subprocess.run(['bash', 'benchmarks/gpu/rank.sh', '--subnets', '2', '--scratch-seeds', '1',
                           '--scratch-iters', '2', '--jobs', '2', '--cfg-options',
                           *tiny_options(tmp_path / 'data', 2), *TINY],
                          cwd=REPO_ROOT, capture_output=True, text=True, timeout=900,
                          env=dict(os.environ, OUT=str(tmp_path / 'out2'), PYTHON=sys.executable,
                                   SMNAS_RANK_WORK=str(tmp_path / 'work2'),
                                   SMNAS_RANK_RESUME=str(tmp_path / 'out' / 'rank_fidelity_gpu.json')))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert 'training from scratch' not in proc.stdout and 'restored from' in proc.stdout
    again = json.loads((tmp_path / 'out2' / 'rank_fidelity_gpu.json').read_text())
    assert again['subnets'] == record['subnets']
