"""torchvision's ops, as smnas routes CUDA tensors to them when mmcv has no CUDA
kernels (and CPU NMS and RoIAlign, for speed), give mmcv's numbers. Checked on the CPU
by forcing the route for CPU tensors (``forced('cpu')``) against mmcv's own CPU kernels
(``mmcv_kernels()``, on for every test here), and on a GPU when there is one."""
import pytest
import torch
from mmcv.ops import DeformConv2d, RoIAlign, batched_nms, nms

import smnas.register  # noqa: F401  installs the dispatchers
from smnas.ops import torchvision_fallbacks as tvf
from smnas.ops.torchvision_fallbacks import forced


@pytest.fixture(autouse=True)
def _mmcv_reference():
    """Outside ``forced``, mmcv's CPU kernels: the reference each test compares with."""
    with tvf.mmcv_kernels():
        yield


def test_cpu_nms_and_roi_align_take_torchvision_by_default(monkeypatch):
    """The speed route: without ``mmcv_kernels()``, CPU NMS and RoIAlign (not the other
    ops) reach torchvision."""
    import torchvision.ops

    calls = []
    for name in ('nms', 'roi_align', 'deform_conv2d'):
        real = getattr(torchvision.ops, name)
        monkeypatch.setattr(torchvision.ops, name,
                            lambda *a, _real=real, _name=name, **k: calls.append(_name) or _real(*a, **k))
    g = torch.Generator().manual_seed(0)
    tvf._PREFER[0] = True
    try:
        assert tvf.use_torchvision(torch.zeros(1), 'nms') and not tvf.use_torchvision(torch.zeros(1))
        nms(_boxes(10, g), torch.rand(10, generator=g), 0.5)
        RoIAlign((2, 2))(torch.randn(1, 2, 8, 8), torch.tensor([[0, 1.0, 1, 6, 6]]))
        DeformConv2d(2, 2, 3, padding=1)(torch.randn(1, 2, 5, 5), torch.zeros(1, 18, 5, 5))
        assert calls == ['nms', 'roi_align']
        calls.clear()
        with tvf.mmcv_kernels():
            nms(_boxes(10, g), torch.rand(10, generator=g), 0.5)
        assert calls == [] and tvf._PREFER[0]
    finally:
        tvf._PREFER[0] = False


def _boxes(n, g):
    xy = torch.rand(n, 2, generator=g) * 50
    wh = torch.rand(n, 2, generator=g) * 30 + 2
    return torch.cat([xy, xy + wh], 1)


def test_routes_only_cuda_tensors_and_only_without_mmcv_cuda():
    assert not tvf.use_torchvision(torch.zeros(1))
    with forced('cpu'):
        assert tvf.use_torchvision(torch.zeros(1))
    assert not tvf.use_torchvision(torch.zeros(1))
    if torch.cuda.is_available():
        assert tvf.use_torchvision(torch.zeros(1, device='cuda')) == (not tvf.mmcv_has_cuda_ops())


def test_forced_calls_reach_torchvision(monkeypatch):
    """The equality tests below would pass without the route; this one would not."""
    import torchvision.ops

    calls = []
    for name in ('nms', 'roi_align', 'deform_conv2d', 'sigmoid_focal_loss'):
        real = getattr(torchvision.ops, name)
        monkeypatch.setattr(torchvision.ops, name,
                            lambda *a, _real=real, _name=name, **k: calls.append(_name) or _real(*a, **k))
    g = torch.Generator().manual_seed(0)
    with forced('cpu'):
        nms(_boxes(10, g), torch.rand(10, generator=g), 0.5)
        RoIAlign((2, 2))(torch.randn(1, 2, 8, 8), torch.tensor([[0, 1.0, 1, 6, 6]]))
        DeformConv2d(2, 2, 3, padding=1)(torch.randn(1, 2, 5, 5), torch.zeros(1, 18, 5, 5))
        from mmcv.ops import sigmoid_focal_loss
        sigmoid_focal_loss(torch.randn(3, 2), torch.tensor([0, 1, 2]), 2.0, 0.25, None, 'mean')
    assert calls == ['nms', 'roi_align', 'deform_conv2d', 'sigmoid_focal_loss']
    calls.clear()
    nms(_boxes(10, g), torch.rand(10, generator=g), 0.5)  # not forced: mmcv's CPU kernel
    assert calls == []


@pytest.mark.parametrize('offset', [0, 1])
@pytest.mark.parametrize('score_thr, max_num', [(0, -1), (0.3, 5)])
def test_nms_and_batched_nms_keep_the_same_boxes(offset, score_thr, max_num):
    g = torch.Generator().manual_seed(offset * 7 + max_num)
    boxes, scores = _boxes(200, g), torch.rand(200, generator=g)
    ref_dets, ref_inds = nms(boxes, scores, 0.5, offset=offset, score_threshold=score_thr, max_num=max_num)
    with forced('cpu'):
        dets, inds = nms(boxes, scores, 0.5, offset=offset, score_threshold=score_thr, max_num=max_num)
    assert inds.tolist() == ref_inds.tolist() and len(inds) >= 5
    torch.testing.assert_close(dets, ref_dets)
    labels = torch.randint(0, 4, (200, ), generator=g)
    ref = batched_nms(boxes, scores, labels, dict(type='nms', iou_threshold=0.6))
    with forced('cpu'):
        out = batched_nms(boxes, scores, labels, dict(type='nms', iou_threshold=0.6))
    assert out[1].tolist() == ref[1].tolist()


@pytest.mark.parametrize('aligned', [True, False])
@pytest.mark.parametrize('sampling_ratio', [0, 2])
def test_roi_align_forward_and_backward(aligned, sampling_ratio):
    g = torch.Generator().manual_seed(int(aligned) * 3 + sampling_ratio)
    feat = torch.randn(2, 8, 16, 20, generator=g)
    rois = torch.cat([torch.randint(0, 2, (30, 1), generator=g).float(), _boxes(30, g) * 0.5], 1)
    op = RoIAlign((7, 7), spatial_scale=0.25, sampling_ratio=sampling_ratio, aligned=aligned)
    x_ref = feat.clone().requires_grad_()
    ref = op(x_ref, rois)
    ref.square().sum().backward()
    x = feat.clone().requires_grad_()
    with forced('cpu'):
        out = op(x, rois)
        out.square().sum().backward()
    torch.testing.assert_close(out, ref, rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(x.grad, x_ref.grad, rtol=1e-4, atol=1e-4)


def test_roi_align_max_pool_is_refused_clearly():
    op = RoIAlign((2, 2), pool_mode='max')
    with forced('cpu'), pytest.raises(NotImplementedError, match="pool_mode='max'"):
        op(torch.randn(1, 2, 8, 8), torch.tensor([[0, 1.0, 1, 6, 6]]))


@pytest.mark.parametrize('deform_groups', [1, 2])
def test_deform_conv2d_forward_and_backward(deform_groups):
    torch.manual_seed(deform_groups)
    op = DeformConv2d(8, 6, 3, padding=1, deform_groups=deform_groups)
    feat = torch.randn(2, 8, 9, 11)
    offset = torch.randn(2, deform_groups * 18, 9, 11) * 2
    x_ref = feat.clone().requires_grad_()
    ref = op(x_ref, offset)
    ref.sum().backward()
    w_ref = op.weight.grad.clone()
    op.weight.grad = None
    x = feat.clone().requires_grad_()
    with forced('cpu'):
        out = op(x, offset)
        out.sum().backward()
    torch.testing.assert_close(out, ref, rtol=1e-4, atol=1e-4)
    torch.testing.assert_close(x.grad, x_ref.grad, rtol=1e-4, atol=1e-4)
    torch.testing.assert_close(op.weight.grad, w_ref, rtol=1e-4, atol=1e-3)


@pytest.mark.parametrize('reduction', ['none', 'mean', 'sum'])
def test_sigmoid_focal_loss_equals_mmdets_reference(reduction):
    """mmcv's kernel has no CPU version; mmdet's pure-PyTorch focal loss is the reference."""
    from mmdet.models.losses.focal_loss import py_sigmoid_focal_loss

    g = torch.Generator().manual_seed(1)
    pred = torch.randn(40, 5, generator=g, requires_grad=True)
    target = torch.randint(0, 6, (40, ), generator=g)  # 5: background
    onehot = torch.nn.functional.one_hot(target, 6)[:, :5].float()
    ref = py_sigmoid_focal_loss(pred, onehot, gamma=2.0, alpha=0.25, reduction='none')
    ref = {'none': ref, 'sum': ref.sum(), 'mean': ref.sum() / 40}[reduction]
    with forced('cpu'):
        from mmcv.ops import sigmoid_focal_loss
        out = sigmoid_focal_loss(pred, target, 2.0, 0.25, None, reduction)
    torch.testing.assert_close(out, ref)


def test_mmdets_focal_loss_module_uses_the_route():
    """mmdet's FocalLoss takes the mmcv kernel's path for CUDA tensors; there, with the
    route, it must give what it gives on the CPU (its pure-PyTorch path)."""
    from mmdet.models.losses import FocalLoss
    from mmdet.models.losses import focal_loss as mmdet_focal

    g = torch.Generator().manual_seed(2)
    pred, target = torch.randn(30, 4, generator=g), torch.randint(0, 5, (30, ), generator=g)
    weight = torch.rand(30, generator=g)
    loss = FocalLoss(use_sigmoid=True)
    ref = loss(pred, target, weight, avg_factor=7.0)
    with forced('cpu'):  # the function FocalLoss calls for CUDA tensors, on CPU tensors
        out = mmdet_focal.sigmoid_focal_loss(pred, target, weight, 2.0, 0.25, 'mean', 7.0)
    torch.testing.assert_close(out, ref)


@pytest.mark.skipif(not torch.cuda.is_available(), reason='needs a GPU')
def test_on_cuda_the_ops_match_the_cpu():
    g = torch.Generator().manual_seed(3)
    boxes, scores = _boxes(100, g), torch.rand(100, generator=g)
    assert nms(boxes.cuda(), scores.cuda(), 0.5)[1].cpu().tolist() == nms(boxes, scores, 0.5)[1].tolist()
    feat = torch.randn(1, 4, 12, 12, generator=g)
    rois = torch.cat([torch.zeros(10, 1), _boxes(10, g) * 0.2], 1)
    op = RoIAlign((7, 7), spatial_scale=0.5)
    torch.testing.assert_close(op(feat.cuda(), rois.cuda()).cpu(), op(feat, rois), rtol=1e-4, atol=1e-5)
