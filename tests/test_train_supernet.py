"""tools/train_supernet.py end to end on tiny data: one process, resume, and two-process
data parallel with torchrun on the CPU (gloo), as a user would run them."""

import pytest
import torch

from smnas.testing import config_path

from .tool_helpers import TINY_SUPERNET_SPACE, run_tool, tiny_options, tiny_supernet_cfg_options

CFG = str(config_path('supernet/quickstart_synthetic.py'))
def _options(data, iters):
    return ['--cfg-options', *tiny_options(data, iters), *TINY_SUPERNET_SPACE]


def _scalars(work):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    events = list(work.glob('*/vis_data/events.out.tfevents.*'))
    assert events, 'no TensorBoard event file'
    acc = EventAccumulator(str(events[0].parent))
    acc.Reload()
    return acc.Tags()['scalars']


def test_trains_validates_max_and_min_and_resumes(tiny_data, tmp_path):
    work = tmp_path / 'work'
    run_tool('tools/train_supernet.py', CFG, '--work-dir', str(work), *_options(tiny_data, 2))
    ckpt = torch.load(work / 'iter_2.pth', map_location='cpu', weights_only=False)
    assert ckpt['meta']['supernet_space']['bases'] == [16, 24] and ckpt['meta']['supernet_part'] is None
    tags = _scalars(work)
    # the configs' recipe: fair random members (here 1) and no max or min at every step;
    # max and min are validated
    for tag in ('random0.loss', 'lr', 'max/coco/bbox_mAP_50',
                'min/coco/bbox_mAP_50'):
        assert tag in tags, tags
    log = run_tool('tools/train_supernet.py', CFG, '--work-dir', str(work), '--resume',
                   *_options(tiny_data, 3))
    assert 'resumed' in log.lower() and 'iter_2.pth' in log
    assert (work / 'iter_3.pth').is_file()
    # a few-shot part from it: --iters rescales the schedule, the checkpoints name the part
    part = tmp_path / 'part'
    log = run_tool('tools/train_supernet.py', CFG, '--work-dir', str(part), '--iters', '1',
                   *_options(tiny_data, 3), 'model.part.neck_channels=[64]',
                   f'load_from={work / "iter_3.pth"}')
    assert 'Load checkpoint from' in log and 'iter_3.pth' in log
    assert sorted(p.name for p in part.glob('iter_*.pth')) == ['iter_1.pth']
    meta = torch.load(part / 'iter_1.pth', map_location='cpu', weights_only=False)['meta']
    assert meta['supernet_part'] == {'neck_channels': [64]}


def test_torchrun_two_processes_on_the_cpu(tiny_data, tmp_path):
    """``train_supernet(procs=2)``: torchrun, two gloo processes of one thread each, as
    ``torchrun --standalone --nproc_per_node=2 tools/train_supernet.py CONFIG --launcher pytorch``."""
    from smnas.engine import read_config
    from smnas.engine.jobs import per_process_batch, train_supernet

    work = tmp_path / 'ddp'
    work.mkdir()
    cfg = read_config(CFG, tiny_supernet_cfg_options(tiny_data, 2))
    cfg.train_dataloader.batch_size = per_process_batch(2, 2)
    cfg.dump(str(work / 'config.py'))
    assert train_supernet(work / 'config.py', work, 2, work / 'train.log', procs=2) == work / 'iter_2.pth'
    log = (work / 'train.log').read_text()
    # mmengine reports the world size as its "GPU number", whatever the device
    assert 'Distributed training: True' in log and 'GPU number: 2' in log, log[-3000:]
    assert "type='SandwichDistributed'" in log
    with pytest.raises(ValueError, match='does not split over 3'):
        per_process_batch(4, 3)


def test_a_failed_torchrun_training_says_what_each_worker_raised(tiny_data, tmp_path):
    """The launcher's own error says only that a child failed: the workers' exceptions,
    far above it in the log, are in the message, so a user (or a CI log) sees the cause."""
    from smnas.engine import read_config
    from smnas.engine.jobs import JobFailed, per_process_batch, train_supernet

    work = tmp_path / 'ddp'
    work.mkdir()
    cfg = read_config(CFG, tiny_supernet_cfg_options(tiny_data, 2))
    cfg.train_dataloader.batch_size = per_process_batch(2, 2)
    cfg.train_dataloader.dataset.ann_file = 'no_such_annotations.json'
    cfg.dump(str(work / 'config.py'))
    with pytest.raises(JobFailed) as failed:
        train_supernet(work / 'config.py', work, 2, work / 'train.log', procs=2)
    message = str(failed.value)
    assert str(work / 'train.log') in message and 'ChildFailedError' in message, message
    # at least the worker that failed first (the launcher may stop the other before it raises)
    assert 'no_such_annotations.json does not exist' in message, message


@pytest.mark.parametrize('structure', [
    'r18_c4_ga_rcnn_160x120',  # res5 as the RoI head, a Guided-Anchor RPN
    pytest.param('mv2_fpn-p3p5-p5_none_retina_160x120', marks=pytest.mark.slow),  # inverted residuals
])
def test_trains_and_validates_around_any_structure(tiny_data, tmp_path, structure):
    work = tmp_path / 'work'
    run_tool('tools/train_supernet.py', CFG, '--work-dir', str(work), *_options(tiny_data, 2),
             f'model.architecture.structure={structure}')
    meta = torch.load(work / 'iter_2.pth', map_location='cpu', weights_only=False)['meta']
    space = meta['supernet_space']
    assert space.get('block', 'basic') == ('inverted' if structure.startswith('mv2') else 'basic')
    if '_c4_' in structure:
        assert space['neck_channels'] == [0]  # no neck to choose
    assert {'max/coco/bbox_mAP_50', 'min/coco/bbox_mAP_50'} <= set(_scalars(work))


def test_amp_trains_in_bf16_on_the_cpu(tiny_data, tmp_path):
    """--amp on a CPU machine: the run's dumped config says bf16 autocast, and it trains."""
    from mmengine.config import Config

    work = tmp_path / 'work'
    run_tool('tools/train_supernet.py', CFG, '--work-dir', str(work), '--amp', *_options(tiny_data, 2))
    assert (work / 'iter_2.pth').is_file()
    dumped = Config.fromfile(str(next(work.glob('*.py'))))
    assert dumped.amp == 'bf16' and dumped.optim_wrapper.type == 'CpuBf16OptimWrapper'
