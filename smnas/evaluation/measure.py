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
from typing import Dict, List, Optional, Tuple

import torch
from supernet.cost import TensorForward, dummy_batch, dummy_inputs
from supernet.ops import standardize_weight
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
                conv = nn.Conv2d(child.in_channels, child.out_channels, child.kernel_size,
                                 stride=child.stride, padding=child.padding, dilation=child.dilation,
                                 groups=child.groups, bias=child.bias is not None).to(w.device)
                conv.weight.copy_(standardize_weight(w, child.eps))
                if child.bias is not None:
                    conv.bias.copy_(child.bias)
                setattr(parent, name, conv)
    return model


@torch.no_grad()
def timed_runs(model: nn.Module, data: dict, repeats: int, device: torch.device) -> List[float]:
    """Milliseconds of each of ``repeats`` ``model.test_step(data)`` calls, the device's
    queued work included (no warm-up: the caller's)."""
    times = []
    for _ in range(repeats):
        _sync(device)
        t0 = time.perf_counter()
        model.test_step(data)
        _sync(device)
        times.append((time.perf_counter() - t0) * 1000)
    return times


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
    data = dummy_batch(input_size, device)
    for _ in range(warmup):
        model.test_step(data)
    times = timed_runs(model, data, repeats, device)
    return dict(latency_ms=statistics.median(times), latency_mean_ms=statistics.fmean(times),
                latency_std_ms=statistics.pstdev(times), repeats=repeats, device=device_name(device))


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
