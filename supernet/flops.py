"""FLOPs of any subnet of a supernet detector without profiling it: a per-layer table.

A thop profile of one detector takes seconds; a search prices thousands of subnets.
A layer's cost splits into what the subnet changes and what it does not:

* positions: how many outputs per channel a layer computes, summed over its calls
  (spatial positions of a conv or norm at each FPN level, rows of a linear layer:
  RoIs). They depend on the input size and the RoI budget, never on widths, so one
  profile of the max subnet at the real input size records them for every layer;
* widths: input and output channels of each layer in a subnet. They do not depend
  on the input size, so a forward pass of the subnet on a tiny image with one RoI
  per image reads them (tens of milliseconds).

FLOPs = sum over layers of positions x cost per position, with thop's conventions
(one multiply-add is one FLOP; a norm layer costs 2 per element, 4 with affine
parameters; RoIAlign, pooling and activations cost 0), so the total equals thop on
the exported static model (checked by the tests).
"""
import copy
from typing import Dict, List, Optional, Tuple

import torch
from torch import nn

from .cost import TensorForward, dummy_inputs, num_test_rois
from .mutator import SubnetMutator
from .space import ModularSpace, Subnet

_TINY = (64, 64)  # the smallest input with every FPN level (P6 is 1x1 at stride 64)


def _conv_groups(m: nn.Conv2d, in_c: int) -> int:
    return in_c if getattr(m, 'depthwise', False) else m.groups


def _layer_kind(m: nn.Module) -> Optional[str]:
    """'conv', 'norm', 'linear' for the layers thop counts; None for zero-cost ones.

    Raises:
        NotImplementedError: a layer thop would count that the table does not model.
    """
    from thop.profile import register_hooks
    from thop.vision.basic_hooks import zero_ops

    if isinstance(m, nn.Conv2d):
        return 'conv'
    if isinstance(m, (nn.modules.batchnorm._NormBase, nn.GroupNorm, nn.LayerNorm)):
        return 'norm'
    if isinstance(m, nn.Linear):
        return 'linear'
    for base, hook in register_hooks.items():
        if isinstance(m, base) and hook is not zero_ops and hook is not None:
            raise NotImplementedError(f'{type(m).__name__} has a FLOPs count in thop that the '
                                      f'per-layer table does not model')
    return None


def _cost_per_position(kind: str, m: nn.Module, in_c: int, out_c: int) -> float:
    if kind == 'conv':
        kh, kw = m.kernel_size
        return out_c * (in_c // _conv_groups(m, in_c)) * kh * kw
    if kind == 'norm':
        affine = getattr(m, 'affine', False) or getattr(m, 'elementwise_affine', False)
        return out_c * (4 if affine else 2)
    return in_c * out_c  # linear


class _Recorder:
    """Forward hooks on every costed layer, recording one thing per layer and call."""

    def __init__(self, model: nn.Module, record):
        self.handles = []
        for name, m in model.named_modules():
            kind = _layer_kind(m) if not list(m.children()) or isinstance(m, nn.Conv2d) else None
            if kind:
                self.handles.append(m.register_forward_hook(
                    lambda mod, inp, out, name=name, kind=kind: record(name, kind, mod, inp[0], out)))

    def remove(self) -> None:
        for h in self.handles:
            h.remove()


def _channels(kind: str, x: torch.Tensor, y: torch.Tensor) -> Tuple[int, int]:
    if kind == 'linear':
        return x.size(-1), y.size(-1)
    return x.size(1), y.size(1)


def _probes(space: ModularSpace) -> List[Subnet]:
    """Full-depth subnets at the smallest widths (positions do not depend on widths),
    doubling as early as possible, then at each later block position."""
    big, small = space.max_subnet(), space.min_subnet()
    out = [Subnet(small.base, big.stages, small.neck, small.head)]
    for j in range(1, max(space.max_depths)):
        stages = []
        for d, k in zip(space.max_depths, space.doublings):
            start = min(j, d - k)
            stages.append(''.join('2' if start <= i < start + k else '1' for i in range(d)))
        out.append(Subnet(small.base, tuple(stages), small.neck, small.head))
    return out


class FlopsTable:
    """FLOPs of every subnet of one supernet detector at one input size.

    The table reads shapes from a private replica of the detector: a copy on the CPU
    with Weight Standardization off and its own mutator. Shapes depend on neither the
    device nor WS, while WS dominates the time of the tiny forward that reads a
    subnet's widths (it re-normalises every active weight slice at every call:
    145 ms per subnet with it, 54 ms without, on the paper space, measured with
    ``benchmarks/bench_flops_table.py``); and the caller's
    supernet is never touched, not even its active subnet.

    Args:
        supernet: a :class:`~supernet.algorithm.SandwichSupernet` (not changed).
        input_size: (w, h) of the search input.
        num_rois: proposals per image for two-stage detectors (default: the test-time
            budget, ``test_cfg.rpn.max_per_img``).

    ``flops(subnet)`` caches by subnet string.
    """

    def __init__(self, supernet: nn.Module, input_size: Tuple[int, int], num_rois: Optional[int] = None):
        self.space = supernet.space
        self.detector = copy.deepcopy(supernet.architecture).cpu().eval()
        for m in self.detector.modules():
            if getattr(m, 'weight_std', False):
                m.weight_std = False
        self.mutator = SubnetMutator(self.detector, self.space)
        self.input_size = tuple(input_size)
        self.num_rois = num_test_rois(self.detector) if num_rois is None else int(num_rois)
        self._cache: Dict[str, float] = {}
        self.positions: Dict[str, float] = {}

        # A layer's positions are the same in every subnet that runs it; full-depth
        # subnets run every block, and doubling at each block position runs every
        # projection shortcut.
        for probe in _probes(self.space):
            found: Dict[str, float] = {}

            def record(name, kind, m, x, y, found=found):
                found[name] = found.get(name, 0.0) + y.numel() / _channels(kind, x, y)[1]

            self._run(probe, self.input_size, self.num_rois, record)
            for name, n in found.items():
                self.positions.setdefault(name, n)

    def _run(self, subnet: Subnet, size, num_rois: int, record) -> None:
        """One no-grad tensor forward of the replica at ``subnet`` and ``size`` with
        ``record`` hooked on every costed layer."""
        recorder = _Recorder(self.detector, record)
        try:
            with self.mutator.use(subnet):
                data = dummy_inputs(self.detector, size)
                with torch.no_grad():
                    TensorForward(self.detector, data['data_samples'], num_rois)(data['inputs'])
        finally:
            recorder.remove()

    def flops(self, subnet) -> float:
        """FLOPs (multiply-adds) of the whole detector at ``subnet``.

        Args:
            subnet: a :class:`Subnet` or its string (validated against the space).
        """
        sub = self.space.validate(subnet)
        key = str(sub)
        if key not in self._cache:
            widths: Dict[str, Tuple[str, nn.Module, int, int]] = {}

            def record(name, kind, m, x, y):
                widths[name] = (kind, m) + _channels(kind, x, y)

            self._run(sub, _TINY, min(self.num_rois, 1), record)
            missing = sorted(set(widths) - set(self.positions))
            if missing:
                raise RuntimeError(f'{key} runs layers no probe subnet ran: {missing}')
            self._cache[key] = float(sum(self.positions[name] * _cost_per_position(kind, m, i, o)
                                         for name, (kind, m, i, o) in widths.items()))
        return self._cache[key]
