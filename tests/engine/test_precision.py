"""Mixed-precision training (``amp``): the config switch, and a bf16 sandwich step on the CPU."""
import pytest
import torch
from mmengine.config import Config
from mmengine.logging import MessageHub

from smnas.engine import CpuBf16OptimWrapper, train_parser, with_amp
from smnas.modular.structure import supernet_model_cfg
from smnas.testing import build_detector, demo_batch
from tests.supernet.common import RCNN, TINY_SPACE


def schedule(**kw):
    return Config(dict(optim_wrapper=dict(type='OptimWrapper', optimizer=dict(type='SGD', lr=0.02),
                                          clip_grad=dict(max_norm=35)), **kw))


@pytest.fixture
def cpu_only(monkeypatch):
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)


@pytest.fixture
def with_gpu(monkeypatch):
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: True)


def test_float32_unless_asked(cpu_only):
    cfg = with_amp(schedule())
    assert cfg.amp is False and cfg.optim_wrapper.type == 'OptimWrapper'
    assert with_amp(schedule(amp=False), None).optim_wrapper.type == 'OptimWrapper'


def test_on_a_cpu_amp_is_bf16_with_the_rest_of_the_wrapper_kept(cpu_only):
    for cfg in (with_amp(schedule(), 'auto'), with_amp(schedule(amp=True)), with_amp(schedule(amp='bf16'))):
        assert cfg.amp == 'bf16' and cfg.optim_wrapper.type == 'CpuBf16OptimWrapper'
        assert cfg.optim_wrapper.clip_grad == dict(max_norm=35) and cfg.optim_wrapper.optimizer.lr == 0.02
    with pytest.raises(ValueError, match='amp=bf16'):
        with_amp(schedule(), 'fp16')


def test_on_a_gpu_amp_is_mmdets_fp16_with_a_dynamic_loss_scale(with_gpu):
    cfg = with_amp(schedule(), 'auto')
    assert cfg.amp == 'fp16' and cfg.optim_wrapper.type == 'AmpOptimWrapper'
    assert cfg.optim_wrapper.loss_scale == 'dynamic' and 'dtype' not in cfg.optim_wrapper
    cfg = with_amp(schedule(), 'bf16')  # bfloat16 needs no loss scale
    assert cfg.optim_wrapper.dtype == 'bfloat16' and 'loss_scale' not in cfg.optim_wrapper


def test_bad_requests_are_refused(cpu_only):
    with pytest.raises(ValueError, match="'fp8'"):
        with_amp(schedule(), 'fp8')
    odd = schedule()
    odd.optim_wrapper.type = 'MyWrapper'
    with pytest.raises(ValueError, match='MyWrapper'):
        with_amp(odd, 'bf16')


def test_the_training_tools_take_amp():
    p = train_parser('t')
    assert p.parse_args(['c.py']).amp is None
    assert p.parse_args(['c.py', '--amp']).amp == 'auto'
    assert p.parse_args(['c.py', '--amp', 'bf16']).amp == 'bf16'


def test_a_bf16_sandwich_step_runs_the_trunk_in_bf16_and_the_roi_stage_in_float32():
    """Under CpuBf16OptimWrapper every sandwich member's convolutions compute in bf16 and
    the RoI stage (mmcv's RoIAlign has no bf16 CPU kernel) in float32; the weights, their
    gradients and the update stay float32, and autocast is off again after the step."""
    torch.manual_seed(0)
    model = build_detector(dict(type='SandwichSupernet', architecture=supernet_model_cfg(RCNN, TINY_SPACE, 3),
                                space=TINY_SPACE.to_dict(), num_random_subnets=1))
    MessageHub.get_current_instance().update_info('iter', 2)
    optim = CpuBf16OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.01))
    conv = next(m for m in model.modules() if isinstance(m, torch.nn.Conv2d))
    seen = {'conv': set(), 'box_head': set()}
    hooks = [conv.register_forward_hook(lambda m, i, o: seen['conv'].add(o.dtype)),
             model.architecture.roi_head.bbox_head.register_forward_hook(
                 lambda m, i, o: seen['box_head'].add((i[0].dtype, o[0].dtype)))]
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    log = model.train_step(demo_batch(batch_size=2, size=(96, 96)), optim)
    for h in hooks:
        h.remove()
    assert seen == {'conv': {torch.bfloat16}, 'box_head': {(torch.float32, torch.float32)}}
    assert all(torch.isfinite(log[f'{m}.loss']) for m in ('max', 'min', 'random0'))
    assert all(p.dtype == torch.float32 for p in model.parameters())
    changed = [n for n, p in model.named_parameters() if not torch.equal(p, before[n])]
    assert any('stem.0' in n for n in changed) and any('bbox_head.shared_fcs' in n for n in changed)
    assert not torch.is_autocast_enabled('cpu')
