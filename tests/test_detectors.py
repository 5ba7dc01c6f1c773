"""The repository's detector configs train and predict on the CPU (GA-RPN included)."""
import pytest
import torch
from mmengine.optim import OptimWrapper

from smnas.testing import build_detector, demo_batch, model_cfg


def train_one_step(model, data):
    model.train()
    optim = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9))
    losses = model.train_step(data, optim)
    return losses


@pytest.mark.parametrize('cfg_file', [
    '_base_/models/faster-rcnn_r18_fpn_gnws.py',
    '_base_/models/ga-faster-rcnn_r18_fpn_gnws.py',
])
def test_train_step_and_predict_on_cpu(cfg_file):
    model = build_detector(model_cfg(cfg_file, num_classes=3))
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    losses = train_one_step(model, demo_batch(batch_size=2, size=(96, 128)))
    assert losses and all(torch.isfinite(v).all() for v in losses.values())
    # zero_init_residual keeps the inner convs of each block still in the first step,
    # so check that every component of the detector was updated.
    changed = {n.split('.')[0] for n, p in model.named_parameters() if not torch.equal(p, before[n])}
    assert changed == {n.split('.')[0] for n in before}
    model.eval()
    with torch.no_grad():
        results = model.test_step(demo_batch(batch_size=1, size=(96, 128)))
    pred = results[0].pred_instances
    assert pred.bboxes.shape[1] == 4 and len(pred.bboxes) == len(pred.scores) == len(pred.labels)


def test_every_parameter_gets_a_gradient():
    model = build_detector(model_cfg(num_classes=3))
    model.train()
    data = model.data_preprocessor(demo_batch(batch_size=2, size=(96, 128)), True)
    losses = model(**data, mode='loss')
    loss, _ = model.parse_losses(losses)
    loss.backward()
    missing = [n for n, p in model.named_parameters() if p.requires_grad and p.grad is None]
    assert not missing, missing
    assert all(torch.isfinite(p.grad).all() for p in model.parameters() if p.grad is not None)


def test_ga_rpn_uses_masked_conv_at_inference():
    """GA-RPN's eval forward goes through mmcv.ops.MaskedConv2d with a mask on the CPU."""
    from mmcv.ops import MaskedConv2d

    model = build_detector(model_cfg('_base_/models/ga-faster-rcnn_r18_fpn_gnws.py', 3))
    calls = []
    hooks = [m.register_forward_hook(lambda mod, inp, out: calls.append(inp[1] is not None))
             for m in model.modules() if isinstance(m, MaskedConv2d)]
    model.eval()
    with torch.no_grad():
        model.test_step(demo_batch(batch_size=1, size=(64, 64)))
    for h in hooks:
        h.remove()
    assert calls and all(calls)
