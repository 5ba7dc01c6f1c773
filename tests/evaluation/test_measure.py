"""Latency, FLOPs and parameters of whole detectors."""
import torch

from smnas.evaluation import count_flops_params, fold_weight_standardization, measure_latency
from smnas.structural import Candidate
from smnas.structural.builder import build_model_cfg
from smnas.testing import build_detector, demo_batch


def small(arch, **kw):
    return build_detector(build_model_cfg(Candidate.parse(arch), 3, fpn_channels=64, fc_channels=64, **kw))


def test_folding_weight_standardization_keeps_outputs():
    from mmcv.cnn.bricks.conv_ws import ConvWS2d
    model = small('r18_fpn-p2p5-p6_rpn_rcnn_512x512').eval()
    folded = fold_weight_standardization(model)
    assert any(isinstance(m, ConvWS2d) for m in model.modules())
    assert not any(isinstance(m, ConvWS2d) for m in folded.modules())
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        a = model.extract_feat(x)
        b = folded.extract_feat(x)
    for u, v in zip(a, b):
        torch.testing.assert_close(u, v, rtol=1e-4, atol=1e-4)


def test_latency_reports_median_and_device():
    model = small('mv2_fpn-p3p5-p6_none_retina_512x512')
    r = measure_latency(model, (64, 64), warmup=1, repeats=3)
    assert r['latency_ms'] > 0 and r['repeats'] == 3 and r['device'].startswith('CPU')
    assert model.training  # measuring does not change the model's mode


def test_flops_count_the_whole_detector_and_grow_with_input():
    model = small('r18_fpn-p2p5-p6_rpn_rcnn_512x512')
    small_in = count_flops_params(model, (64, 64))
    big_in = count_flops_params(model, (128, 128))
    assert big_in['flops'] > 2 * small_in['flops'] > 0
    assert small_in['params'] == sum(p.numel() for p in model.parameters())
    # WS convs must be counted: the backbone alone at 128x128 is > 0.5 GFLOPs for R-18
    assert big_in['flops'] > 0.5e9
    assert 'total_ops' not in dict(model.named_buffers())
    # two-stage > one-stage head at the same backbone and input
    retina = small('r18_fpn-p2p5-p6_none_retina_512x512')
    cascade = small('r18_fpn-p2p5-p6_rpn_cascade3_512x512')
    assert count_flops_params(cascade, (64, 64))['flops'] > count_flops_params(
        small('r18_fpn-p2p5-p6_rpn_rcnn_512x512'), (64, 64))['flops']
    assert count_flops_params(retina, (64, 64))['flops'] > 0
    model.eval()
    with torch.no_grad():
        model.test_step(demo_batch(1, (64, 64)))
