"""Slow: the baseline trained on converted BCCD for the short CPU schedule finds cells.

    .venv/bin/python -m pytest -m slow tests/slow/test_bccd_baseline.py   (~15 min on 2 cores)
"""
import json
import subprocess
import sys
from pathlib import Path

import pytest

from smnas.testing import REPO_ROOT

SHARED = REPO_ROOT.parent / 'shared' / 'data' / 'bccd'
CFG = 'configs/baseline/faster-rcnn_r18-gnws_fpn_bccd.py'


@pytest.mark.slow
@pytest.mark.timeout(3600)
def test_bccd_baseline_map50_positive(tmp_path):
    if not SHARED.is_dir():
        pytest.skip(f'{SHARED} not present')
    data = tmp_path / 'bccd'
    py = sys.executable

    def run(*args):
        proc = subprocess.run([py, *args], cwd=REPO_ROOT, capture_output=True, text=True)
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
        return proc.stdout

    out = run('tools/convert_dataset.py', str(SHARED), '--out', str(data))
    assert '2 dropped' in out
    root = f'{data}/'
    opts = ['--cfg-options', f'train_dataloader.dataset.data_root={root}',
            f'val_dataloader.dataset.data_root={root}', f'test_dataloader.dataset.data_root={root}',
            f'val_evaluator.ann_file={root}annotations/instances_val.json',
            f'test_evaluator.ann_file={root}annotations/instances_test.json']
    work = tmp_path / 'work'
    run('tools/train.py', CFG, '--work-dir', str(work), *opts)
    metrics = tmp_path / 'metrics.json'
    run('tools/test.py', CFG, str(work / 'iter_300.pth'), '--out', str(metrics), *opts)
    m = json.loads(Path(metrics).read_text())['metrics']
    assert m['coco/bbox_mAP_50'] > 0
    assert list(work.glob('*/vis_data/events.out.tfevents.*'))
