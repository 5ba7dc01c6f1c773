"""Slow: ``smnas run --data`` from a small VOC folder and a small YOLO folder to the
final report, at the smallest budget it accepts (measured 2026-12-03 alone on 2 CPU cores: VOC 37 min,
YOLO 21 min; both passed):
    .venv/bin/python -m pytest -m slow tests/slow/test_autorun_e2e.py
"""
import json

import pytest

from smnas.autorun import plan
from smnas.pipeline import main

from ..data.conftest import VocBuilder, write_image


def _voc(root):
    b = VocBuilder(root)
    for i in range(24):
        b.add(f'im{i}', [('cat' if i % 2 else 'dog', (20 + i, 30, 140, 150))], size=(320, 240), seed=i)
    return root


def _yolo(root):
    for split, n in (('train', 18), ('val', 6)):
        for i in range(n):
            write_image(root / 'images' / split / f'{i}.jpg', (320, 240), seed=i)
            (root / 'labels' / split).mkdir(parents=True, exist_ok=True)
            (root / 'labels' / split / f'{i}.txt').write_text(f'{i % 2} 0.4 0.5 0.3 0.4\n')
    (root / 'classes.txt').write_text('cat\ndog\n')
    return root


@pytest.mark.slow
@pytest.mark.timeout(2400)  # pytest.ini's 900 s per test is for the fast suite
@pytest.mark.parametrize('make', [_voc, _yolo], ids=['voc', 'yolo'])
def test_a_folder_of_labelled_images_gives_finalists(make, tmp_path):
    data = make(tmp_path / 'data')
    work = tmp_path / 'work'
    hours = 0.25 * 35.4 / 60 * (256 * 192) / (192 * 128) * 1.01  # just above the least budget here
    plan(hours, 0.3)
    assert main(['run', '--data', str(data), '--work-dir', str(work), '--budget-hours', f'{hours:.4f}']) == 0
    info = json.loads((work / 'data.json').read_text())
    assert info['classes'] == ['cat', 'dog'] or sorted(info['classes']) == ['cat', 'dog']
    assert info['input_scale'] == 0.3
    report = (work / 'report.md').read_text()
    assert '| E0 |' in report
    # deployable: every finalist exported to ONNX, checked against PyTorch and timed
    records = json.loads((work / 'search' / 'finalists' / 'finalists.json').read_text())
    assert all(r['onnx'] and r['onnx_check']['match_rate'] == 1.0 and r['onnx_latency_ms'] for r in records)
    # the written pipeline config reruns (resumes) with nothing left to do
    assert main(['run', str(work / 'pipeline.py')]) == 0
