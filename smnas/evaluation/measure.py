"""Cost of a whole detector: measured latency, FLOPs and parameters.

Latency is what the structural search minimises, so it is measured, not modelled:
the full ``test_step`` (pre-processing, backbone to heads, NMS and rescaling) at the
detector's input size, batch 1, on the device it runs on, after warm-up, as the
median of repeated runs. FLOPs are counted with thop over the whole detector's
tensor forward (all convolutions, linear and normalisation layers of backbone, neck
and heads; two-stage detectors with a fixed number of proposals, see
:class:`TensorForward`).
"""
import copy
import platform
import statistics
import time
from typing import Dict, Optional, Tuple

import torch
from torch import nn


def device_name(device: torch.device) -> str:
    """A human-readable name of ``device`` (GPU model, or CPU model and threads)."""
    if device.type == 'cuda':
        return torch.cuda.get_device_name(device)
    model = platform.processor() or platform.machine()
    try:
        with open('/proc/cpuinfo', encoding='utf-8') as f:
            for line in f:
                if line.startswith('model name'):
                    model = line.split(':', 1)[1].strip()
                    break
    except OSError:
        pass
    return f'CPU {model} ({torch.get_num_threads()} threads)'


def _dummy_batch(input_size: Tuple[int, int], device: torch.device) -> dict:
    from mmdet.structures import DetDataSample

    w, h = input_size
    g = torch.Generator().manual_seed(0)
    img = torch.randint(0, 256, (3, h, w), dtype=torch.uint8, generator=g).to(device)
    sample = DetDataSample(metainfo=dict(img_shape=(h, w), ori_shape=(h, w), scale_factor=(1.0, 1.0),
                                         pad_shape=(h, w), batch_input_shape=(h, w)))
    return dict(inputs=[img], data_samples=[sample])


def _sync(device: torch.device) -> None:
    if device.type == 'cuda':
        torch.cuda.synchronize(device)


@torch.no_grad()
def fold_weight_standardization(model: nn.Module) -> nn.Module:
    """A copy of ``model`` with every Weight-Standardized conv turned into a plain conv.

    Weight Standardization re-normalises the weights on every forward pass; at
    inference the weights are fixed, so a deployed model computes the standardised
    weights once. Timing the unfolded model would charge GN+WS detectors for work
    no deployment does (measured: over half of a small R-18's CPU forward).

    Returns:
        A deep copy; ``model`` is unchanged. Outputs are identical.
    """
    from mmcv.cnn.bricks.conv_ws import ConvWS2d

    model = copy.deepcopy(model)
    for parent in list(model.modules()):
        for name, child in list(parent.named_children()):
            if type(child) is ConvWS2d:
                w = child.weight
                flat = w.view(w.size(0), -1)
                mean = flat.mean(dim=1).view(-1, 1, 1, 1)
                std = flat.std(dim=1).view(-1, 1, 1, 1)
                conv = nn.Conv2d(child.in_channels, child.out_channels, child.kernel_size,
                                 stride=child.stride, padding=child.padding, dilation=child.dilation,
                                 groups=child.groups, bias=child.bias is not None).to(w.device)
                conv.weight.copy_((w - mean) / (std + child.eps))
                if child.bias is not None:
                    conv.bias.copy_(child.bias)
                setattr(parent, name, conv)
    return model


@torch.no_grad()
def measure_latency(model: nn.Module, input_size: Tuple[int, int], warmup: int = 3,
                    repeats: int = 10, device: Optional[torch.device] = None) -> Dict[str, object]:
    """Time the whole detector at ``input_size`` (w, h), batch 1.

    Weight Standardization is folded into the weights first (see
    :func:`fold_weight_standardization`), as a deployed model would.

    Args:
        model: an mmdet detector.
        input_size: (width, height) of the input image.
        warmup: untimed runs first (allocator, cudnn autotuning, caches).
        repeats: timed runs.
        device: where to run (default: the model's device).

    Returns:
        ``dict(latency_ms=median, latency_mean_ms, latency_std_ms, repeats, device)``.
    """
    device = device or next(model.parameters()).device
    model = fold_weight_standardization(model).to(device).eval()
    data = _dummy_batch(input_size, device)
    for _ in range(warmup):
        model.test_step(data)
    _sync(device)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        model.test_step(data)
        _sync(device)
        times.append((time.perf_counter() - t0) * 1000)
    return dict(latency_ms=statistics.median(times), latency_mean_ms=statistics.fmean(times),
                latency_std_ms=statistics.pstdev(times), repeats=repeats, device=device_name(device))


def fixed_proposals(num: int, img_shape: Tuple[int, int], device: torch.device):
    """``num`` deterministic boxes spread over an image of ``img_shape`` (h, w), of sizes
    from 8 pixels to half the image, as an ``InstanceData`` of proposals."""
    from mmengine.structures import InstanceData

    h, w = img_shape
    g = torch.Generator().manual_seed(0)
    size = torch.exp(torch.empty(num, 2).uniform_(0, 1, generator=g) *
                     torch.log(torch.tensor([max(w / 2, 9.0), max(h / 2, 9.0)]) / 8)) * 8
    centre = torch.rand(num, 2, generator=g) * torch.tensor([w, h], dtype=torch.float)
    boxes = torch.cat([centre - size / 2, centre + size / 2], 1)
    boxes[:, 0::2] = boxes[:, 0::2].clamp(0, w)
    boxes[:, 1::2] = boxes[:, 1::2].clamp(0, h)
    return InstanceData(bboxes=boxes.to(device), scores=torch.ones(num, device=device),
                        labels=torch.zeros(num, dtype=torch.long, device=device))


def num_test_rois(detector: nn.Module) -> int:
    """Proposals per image a two-stage detector's box head sees at test time
    (``test_cfg.rpn.max_per_img``, the usual budget); 0 for one-stage detectors."""
    if not hasattr(detector, 'roi_head'):
        return 0
    rpn = (detector.test_cfg or {}).get('rpn') or {}
    return int(rpn.get('max_per_img', 1000))


class TensorForward(nn.Module):
    """A detector's whole tensor path as ``forward(images)``: backbone, neck, dense
    heads and, for two-stage detectors, the RoI head(s) on a fixed number of proposals.

    The RPN's own proposals depend on the input and the weights (its NMS keeps a
    varying number), which would make FLOPs vary from run to run; a fixed count of
    ``num_rois`` per image (default: the test-time budget) makes them a property of
    the architecture and the input size.

    Args:
        detector: an mmdet detector.
        data_samples: the samples of the batch (image metas).
        num_rois: proposals per image (two-stage detectors).
    """

    def __init__(self, detector: nn.Module, data_samples, num_rois: Optional[int] = None):
        super().__init__()
        self.detector = detector
        self.data_samples = data_samples
        self.num_rois = num_test_rois(detector) if num_rois is None else num_rois

    def forward(self, images):
        det = self.detector
        x = det.extract_feat(images)
        if not hasattr(det, 'roi_head'):
            return det.bbox_head(x)
        outs = det.rpn_head(x) if getattr(det, 'with_rpn', False) else ()
        proposals = [fixed_proposals(self.num_rois, s.metainfo['img_shape'], images.device)
                     for s in self.data_samples]
        return outs, det.roi_head.forward(x, proposals, self.data_samples)


def dummy_inputs(model: nn.Module, input_size: Tuple[int, int]) -> dict:
    """A pre-processed batch of one random image of ``input_size`` (w, h) for ``model``."""
    device = next(model.parameters()).device
    return model.data_preprocessor(_dummy_batch(input_size, device), False)


def _deform_conv_hook(m, inputs, output):
    # Like a convolution of the same shape (the bilinear sampling is not counted).
    kh, kw = m.kernel_size
    m.total_ops += torch.DoubleTensor([output.numel() * (m.in_channels // m.groups) * kh * kw])


def _subclass_ops(model: nn.Module) -> dict:
    """thop hooks for subclasses of the layers it knows (thop matches exact types:
    mmcv's ConvWS2d, MaskedConv2d... would otherwise count as zero)."""
    from thop.profile import register_hooks

    ops = {}
    for m in model.modules():
        t = type(m)
        if t in register_hooks or t in ops:
            continue
        for base, hook in register_hooks.items():
            if isinstance(m, base):
                ops[t] = hook
                break
    try:
        from mmcv.ops import DeformConv2d, ModulatedDeformConv2d
        ops[DeformConv2d] = _deform_conv_hook
        ops[ModulatedDeformConv2d] = _deform_conv_hook
    except ImportError:
        pass
    return ops


@torch.no_grad()
def count_flops_params(model: nn.Module, input_size: Tuple[int, int]) -> Dict[str, float]:
    """FLOPs and parameters of the whole detector at ``input_size`` (w, h), batch 1.

    thop counts one multiply-add as one FLOP (the convention of detection papers and
    mmdet's ``get_flops``) over :class:`TensorForward`: two-stage detectors are counted
    with their test-time budget of proposals. Parameters are counted over the whole
    model.

    Returns:
        ``dict(flops=..., params=...)``.
    """
    from thop import profile

    was_training = model.training
    model.eval()
    data = dummy_inputs(model, input_size)
    wrapper = TensorForward(model, data['data_samples'])
    flops, _ = profile(wrapper, inputs=(data['inputs'], ), custom_ops=_subclass_ops(model),
                       verbose=False)
    # thop leaves total_ops/total_params buffers on every module; remove them so the
    # model's state dict stays clean.
    for m in model.modules():
        for name in ('total_ops', 'total_params'):
            if name in getattr(m, '_buffers', {}):
                del m._buffers[name]
    model.train(was_training)
    params = sum(p.numel() for p in model.parameters())
    return dict(flops=float(flops), params=float(params))
