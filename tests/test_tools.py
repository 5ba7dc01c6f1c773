"""tools/train.py and tools/test.py end to end on a tiny synthetic dataset."""
import json

import pytest

from smnas.testing import config_path

from .tool_helpers import run_tool, tiny_options

CFG = str(config_path('baseline/faster-rcnn_r18-gnws_fpn_synthetic.py'))


def test_train_then_test_writes_metrics_and_tensorboard(tiny_data, tmp_path):
    work = tmp_path / 'work'
    run_tool('tools/train.py', CFG, '--work-dir', str(work), '--cfg-options',
             *tiny_options(tiny_data, 3))
    ckpt = work / 'iter_3.pth'
    assert ckpt.is_file()
    events = list(work.glob('*/vis_data/events.out.tfevents.*'))
    assert events, 'no TensorBoard event file'
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    acc = EventAccumulator(str(events[0].parent))
    acc.Reload()
    tags = acc.Tags()['scalars']
    for tag in ('loss', 'loss_rpn_cls', 'loss_cls', 'lr', 'coco/bbox_mAP_50'):
        assert tag in tags, tags

    out = tmp_path / 'metrics.json'
    log = run_tool('tools/test.py', CFG, str(ckpt), '--work-dir', str(tmp_path / 'test'),
                   '--out', str(out), '--cfg-options', *tiny_options(tiny_data, 3))
    assert 'coco/bbox_mAP_50' in log
    metrics = json.loads(out.read_text())['metrics']
    assert 0.0 <= metrics['coco/bbox_mAP_50'] <= 1.0


@pytest.mark.slow  # two runs (30 s); test_train_supernet.py keeps the fast sibling (the same resume path)
def test_resume_continues_from_the_last_checkpoint(tiny_data, tmp_path):
    work = tmp_path / 'work'
    run_tool('tools/train.py', CFG, '--work-dir', str(work), '--cfg-options',
             *tiny_options(tiny_data, 2))
    log = run_tool('tools/train.py', CFG, '--work-dir', str(work), '--resume', '--cfg-options',
                   *tiny_options(tiny_data, 4))
    assert 'resumed' in log.lower() and 'iter_2.pth' in log
    assert (work / 'iter_4.pth').is_file()
