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
* width rules: a search prices thousands of subnets, so the table also learns, from
  such forwards of sampled subnets, how each layer's widths follow from what the
  mutator sets (``active_out`` of an op, times a constant such as the 7x7 RoI cells
  of a box head's first linear layer, or a constant), and whether the layer runs at
  all (a block past its stage's active depth does not). The rules are checked on
  other sampled subnets; if they hold, a price is one mutator call and a sum
  (about a millisecond); if any fails, the table reads widths with a forward pass.

FLOPs = sum over layers of positions x cost per position, with thop's conventions
(one multiply-add is one FLOP; a norm layer costs 2 per element, 4 with affine
parameters; an average pool one add per input and one divide per output; RoIAlign,
max pooling and activations cost 0), so the total equals thop on
the exported static model (checked by the tests).
"""
import copy
import dataclasses
import random
import warnings
from typing import Dict, List, Optional, Tuple

import torch
from torch import nn

from .cost import TensorForward, dummy_inputs, num_test_rois
from .mutator import SubnetMutator
from .space import ModularSpace, Subnet

_TINY = (64, 64)  # the smallest input with every FPN level (P6 is 1x1 at stride 64)


def _conv_groups(m: nn.Conv2d, in_c: int) -> int:
    if hasattr(m, 'active_groups'):  # a dynamic conv: its groups follow its width
        return m.active_groups(in_c)
    return m.groups


def _layer_kind(m: nn.Module) -> Optional[str]:
    """'conv', 'norm', 'linear', 'pool' for the layers thop counts; None for zero-cost ones.

    Raises:
        NotImplementedError: a layer thop would count that the table does not model.
    """
    from thop.profile import register_hooks
    from thop.vision.basic_hooks import zero_ops

    from mmcv.ops import DeformConv2d

    # A deformable conv costs what a conv of its shape does (its sampling is not
    # counted), as smnas' thop hook counts it.
    if isinstance(m, (nn.Conv2d, DeformConv2d)):
        return 'conv'
    if isinstance(m, (nn.modules.batchnorm._NormBase, nn.GroupNorm, nn.LayerNorm)):
        return 'norm'
    if isinstance(m, nn.Linear):
        return 'linear'
    if isinstance(m, nn.AvgPool2d):  # a C4 box head's pooling of the RoI features
        if m.ceil_mode or torch.nn.modules.utils._pair(m.padding) != (0, 0):
            raise NotImplementedError('the per-layer table counts average pools without padding '
                                      'or ceil_mode only (then every window is whole)')
        return 'pool'
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
    if kind == 'pool':  # thop: one add per input of a window, one divide per output
        kh, kw = torch.nn.modules.utils._pair(m.kernel_size)
        return out_c * (kh * kw + 1)
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
    out = [dataclasses.replace(small, stages=big.stages)]
    for j in range(1, max(space.max_depths)):
        stages = []
        for d, k in zip(space.max_depths, space.doublings):
            start = min(j, d - k)
            stages.append(''.join('2' if start <= i < start + k else '1' for i in range(d)))
        out.append(dataclasses.replace(small, stages=tuple(stages)))
    return out


def _sources(model: nn.Module) -> Dict[str, nn.Module]:
    """What the mutator sets that widths can follow: every op's ``active_out``."""
    return {name: m for name, m in model.named_modules() if hasattr(m, 'active_out')}


def _blocks(sub: Subnet) -> Dict[str, int]:
    """Each block position of the space: 0 where the subnet has no block, else its
    digit (1 keeps the width, 2 doubles it); whether a layer runs follows one of these."""
    return {f'stage{i}[{j}]': int(stage[j]) if j < len(stage) else 0
            for i, stage in enumerate(sub.stages) for j in range(8 * len(sub.stages))}


def _source_value(m: nn.Module) -> int:
    return int(m.active_out or getattr(m, 'out_channels', None) or m.out_features)


def _fit(values: List[int], states: List[Dict[str, int]], prefer: Optional[str] = None):
    """A rule for ``values`` (one per sample, None where the layer did not run) from the
    samples' source states: ``('const', c)`` or ``(source, ratio)``; None if none fits."""
    seen = [(v, st) for v, st in zip(values, states) if v is not None]
    if len({v for v, _ in seen}) == 1:
        return ('const', seen[0][0])
    keys = list(states[0])
    if prefer in states[0]:
        keys.insert(0, prefer)
    for k in keys:
        v0, s0 = seen[0][0], seen[0][1][k]
        if s0 <= 0 or v0 % s0:
            continue
        r = v0 // s0
        if all(v == r * st[k] for v, st in seen):
            return (k, r)
    return None


def _fit_run(ran: List[bool], blocks: List[Dict[str, int]]):
    """When a layer runs: ``None`` (always) or ``(block position, digits)``: when the
    subnet's digit there is one of ``digits``; False if no position tells."""
    if all(ran):
        return None
    for k in blocks[0]:
        on = {b[k] for r, b in zip(ran, blocks) if r}
        if on and all(r == (b[k] in on) for r, b in zip(ran, blocks)):
            return (k, frozenset(on))
    return False


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
        rule_samples: random subnets the width rules are learnt from (besides every
            choice of each stage), and twice as many others they are checked on (0: no
            rules; every price is a forward pass).
        learn_after: distinct subnets priced with forward passes before the rules are
            learnt (:meth:`learn_rules` learns them at once).

    ``flops(subnet)`` caches by subnet string.
    """

    def __init__(self, supernet: nn.Module, input_size: Tuple[int, int], num_rois: Optional[int] = None,
                 rule_samples: int = 12, learn_after: int = 8):
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
        # Rules are learnt once a caller has priced `learn_after` subnets: a search prices
        # hundreds, a one-off caller a few, which forward passes price sooner.
        self.rules = None
        self.rule_samples = int(rule_samples)
        self.learn_after = int(learn_after)
        self._rules_tried = False

    def learn_rules(self) -> bool:
        """Learn and check the width rules now (once); True if they hold and are used."""
        if not self._rules_tried:
            self._rules_tried = True
            self.rules = self._learn_rules(self.rule_samples)
        return self.rules is not None

    def _state(self, keys=None) -> Dict[str, int]:
        return {k: _source_value(self._source[k]) for k in (keys or self._source)}

    def _learn_rules(self, n: int) -> Optional[list]:
        """Width and run rules of every costed layer, learnt from ``n`` sampled subnets
        (plus the min and max) and checked on ``n`` others; None if any fails."""
        if n <= 0:
            return None
        self._source = _sources(self.detector)
        rng = random.Random(0)
        space = self.space
        # Every choice of each stage (whether a layer runs follows its stage's string), in
        # the min and in the max subnet (so that a layer seen only there still sees two
        # widths), the probes (every block position and shortcut), then random subnets.
        per_stage = [dataclasses.replace(b, stages=b.stages[:i] + (c, ) + b.stages[i + 1:])
                     for b in (space.min_subnet(), space.max_subnet())
                     for i in range(len(space.max_depths)) for c in space.stage_choices(i)]
        learn = (per_stage + _probes(space) + [space.min_subnet(), space.max_subnet()]
                 + [space.sample(rng) for _ in range(n)])
        samples = []
        for sub in learn:
            samples.append((self._forward_widths(sub), self._state_of(sub)))
        states = [st for _, st in samples]
        blocks = [_blocks(sub) for sub in learn]
        rules = []
        modules = dict(self.detector.named_modules())
        for name in self.positions:
            found = [w.get(name) for w, _ in samples]
            if all(f is None for f in found):
                continue
            kind = next(f for f in found if f)[0]
            run = _fit_run([f is not None for f in found], blocks)
            rin = _fit([f and f[2] for f in found], states)
            rout = _fit([f and f[3] for f in found], states, prefer=name)
            if run is False or rin is None or rout is None:
                return self._give_up(f'no rule for {name}')
            rules.append((name, kind, modules[name], self.positions[name], run, rin, rout))
        self.rules = rules
        # the sources the rules read, gathered once: a price reads only these
        self._rule_keys = sorted({r[0] for rule in rules for r in rule[5:] if r[0] != 'const'})
        for sub in [space.sample(rng) for _ in range(2 * n)]:
            if self._priced_by_rules(sub) != self._priced_by_forward(sub):
                return self._give_up(f'the rules misprice {sub}')
        return rules

    def _give_up(self, why: str) -> None:
        warnings.warn(f'FlopsTable: {why}; every subnet is priced with a forward pass instead', stacklevel=3)
        return None

    def _state_of(self, sub) -> Dict[str, int]:
        with self.mutator.use(sub):
            return self._state()

    def _forward_widths(self, sub) -> Dict[str, tuple]:
        widths: Dict[str, Tuple[str, nn.Module, int, int]] = {}

        def record(name, kind, m, x, y):
            widths[name] = (kind, m) + _channels(kind, x, y)

        self._run(sub, _TINY, min(self.num_rois, 1), record)
        missing = sorted(set(widths) - set(self.positions))
        if missing:
            raise RuntimeError(f'{sub} runs layers no probe subnet ran: {missing}')
        return widths

    def _priced_by_forward(self, sub) -> float:
        return float(sum(self.positions[name] * _cost_per_position(kind, m, i, o)
                         for name, (kind, m, i, o) in self._forward_widths(sub).items()))

    def _priced_by_rules(self, sub) -> float:
        with self.mutator.use(sub):
            st = self._state(self._rule_keys)
        blocks = _blocks(sub)
        total = 0.0
        for _, kind, m, positions, run, rin, rout in self.rules:
            if run is not None and blocks[run[0]] not in run[1]:
                continue
            i = rin[1] if rin[0] == 'const' else rin[1] * st[rin[0]]
            o = rout[1] if rout[0] == 'const' else rout[1] * st[rout[0]]
            total += positions * _cost_per_position(kind, m, i, o)
        return float(total)

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

    def layers(self, subnet) -> List[Tuple[str, str, float, float]]:
        """Every layer ``subnet`` runs: (name, kind, FLOPs, output elements), from one
        tiny forward pass (what a latency model is fitted on: the FLOPs sum to
        :meth:`flops`, and the output elements measure the memory a layer writes).

        Args:
            subnet: a :class:`Subnet` or its string (validated against the space).
        """
        sub = self.space.validate(subnet)
        out = []
        for name, (kind, m, i, o) in sorted(self._forward_widths(sub).items()):
            pos = self.positions[name]
            out.append((name, kind, float(pos * _cost_per_position(kind, m, i, o)), float(pos * o)))
        return out

    def flops(self, subnet) -> float:
        """FLOPs (multiply-adds) of the whole detector at ``subnet``.

        Args:
            subnet: a :class:`Subnet` or its string (validated against the space).
        """
        sub = self.space.validate(subnet)
        key = str(sub)
        if key not in self._cache:
            if not self._rules_tried and self.rule_samples > 0 and len(self._cache) >= self.learn_after:
                self.learn_rules()
            self._cache[key] = self._priced_by_rules(sub) if self.rules else self._priced_by_forward(sub)
        return self._cache[key]
