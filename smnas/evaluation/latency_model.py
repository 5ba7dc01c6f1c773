"""Latency of any subnet on this device, predicted from its layers: a hardware-aware cost
for the modular search, where FLOPs rank measured latency only roughly.

A subnet's latency is modelled as a non-negative linear function of what its layers do
(:meth:`supernet.flops.FlopsTable.layers`): multiply-adds of convolutions, by the
resolution they run at (fine maps of few channels compute fewer multiply-adds per
millisecond than coarse maps of many: measured, splitting them raised the Kendall tau of
the predicted latency by 0.03-0.05 on the spread test set, benchmarks/README.md), and of
linear layers, the elements norms and every layer write (memory traffic, which dominates
small layers on CPUs), and how many layers of each kind run (a fixed cost per kernel
launch or call), plus a constant (the detector's post-processing, data conversion). The model is
fitted once per device and input size to the measured batch-1 latency of a few subnets
exported as static models (:func:`measure_subnets_ms`), then prices any subnet in one tiny
forward pass of the FLOPs table's replica.
"""
import random
from typing import Callable, Dict, List, Optional, Sequence

import numpy as np
import torch

FEATURES = ('conv_flops_s4', 'conv_flops_s8_16', 'conv_flops_s32', 'linear_flops', 'norm_elements', 'outputs',
            'conv_layers', 'norm_layers', 'linear_layers', 'constant')


def _conv_level(table, name: str) -> str:
    """The feature of a conv's FLOPs: by the stride of its output to the input (from its
    positions; RoI-wise convs, whose positions are not a map's, count as coarse)."""
    w, h = table.input_size
    stride = (w * h / max(table.positions[name], 1.0)) ** 0.5
    if stride <= 5.5:
        return 'conv_flops_s4'
    return 'conv_flops_s8_16' if stride <= 22.6 else 'conv_flops_s32'


def subnet_features(table, subnet) -> Dict[str, float]:
    """The latency model's features of ``subnet`` (FLOPs in G, elements in M).

    Args:
        table: the supernet's :class:`~supernet.flops.FlopsTable` (input size included).
        subnet: a subnet or its string.
    """
    f = dict.fromkeys(FEATURES, 0.0)
    f['constant'] = 1.0
    for name, kind, flops, outputs in table.layers(subnet):
        f['outputs'] += outputs / 1e6
        if kind == 'conv':
            f[_conv_level(table, name)] += flops / 1e9
            f['conv_layers'] += 1
        elif kind == 'linear':
            f['linear_flops'] += flops / 1e9
            f['linear_layers'] += 1
        else:
            f['norm_elements'] += outputs / 1e6
            f['norm_layers'] += 1
    return f


def measure_subnet_ms(model_cfg: dict, state_dict: dict, subnet, input_size, repeats: int = 20,
                      warmup: int = 3) -> float:
    """Batch-1 latency (ms) of ``subnet`` exported as a static model (WS folded): the least
    of ``repeats`` runs on this process's device and threads (one subnet; several:
    :func:`measure_subnets_ms`)."""
    runs = measure_subnets_ms(model_cfg, state_dict, [subnet], input_size, rounds=1,
                              repeats=repeats, warmup=warmup)
    return float(next(iter(runs.values()))[0])


def _static_model(model_cfg: dict, state_dict: dict, subnet):
    """``subnet`` exported as a static detector, WS folded, in eval mode."""
    from mmengine.config import ConfigDict
    from mmengine.registry import DefaultScope
    from mmdet.registry import MODELS

    from supernet.export import export_subnet

    from .measure import fold_weight_standardization

    cfg, sd = export_subnet(model_cfg, state_dict, subnet)
    with DefaultScope.overwrite_default_scope('mmdet'):
        model = MODELS.build(ConfigDict(cfg))
    model.load_state_dict(sd)
    return fold_weight_standardization(model).eval()


@torch.no_grad()
def measure_subnets_ms(model_cfg: dict, state_dict: dict, subnets: Sequence, input_size,
                       rounds: int = 5, repeats: int = 3, warmup: int = 2, seed: int = 0,
                       reduce: Optional[Callable[[List[float]], float]] = min) -> Dict[str, list]:
    """Batch-1 latency of several subnets, timed in interleaved rounds.

    Every subnet is exported once; then each round times every subnet (``repeats`` runs,
    their least) in a freshly shuffled order. A slow spell of the machine (another
    process, frequency scaling) so falls on all subnets alike instead of on the few timed
    during it. A subnet's latency is the least of its rounds: noise on a shared machine
    only ever adds time, and on the 2-core VM the least of 24 runs ranked subnets 1-2x apart
    more repeatably (Kendall tau 0.76-0.94 between two halves of the rounds) than the median
    of round medians did (0.61-0.83; benchmarks/README.md, latency predictor).

    Args:
        model_cfg: the supernet's architecture config (``model.architecture_cfg``).
        state_dict: its weights (post-processing sees realistic detections with trained ones).
        subnets: subnets or their strings.
        input_size: (width, height).
        rounds: interleaved rounds.
        repeats: timed runs per subnet and round.
        warmup: untimed runs of each model before the first round.
        seed: the shuffling's seed.
        reduce: what a round keeps of its runs (None: every run's time).

    Returns:
        ``{subnet string: [least ms of each round]}`` (with ``reduce=None``: ``[[ms of each
        run] of each round]``).
    """
    from supernet.cost import dummy_batch

    from .measure import timed_runs

    subs = list(dict.fromkeys(str(s) for s in subnets))
    models = {s: _static_model(model_cfg, state_dict, s) for s in subs}
    device = next(iter(models.values())).data_preprocessor.device if subs else torch.device('cpu')
    data = dummy_batch(tuple(input_size), device)
    for m in models.values():
        for _ in range(warmup):
            m.test_step(data)
    rng = random.Random(seed)
    out: Dict[str, List[float]] = {s: [] for s in subs}
    for _ in range(rounds):
        order = list(subs)
        rng.shuffle(order)
        for s in order:
            times = timed_runs(models[s], data, repeats, device)
            out[s].append(reduce(times) if reduce else times)
    return out


class LatencyModel:
    """Predicts a subnet's latency (ms) from its layer features.

    Args:
        table: the supernet's FLOPs table (it fixes the input size).
        coefficients: ms per unit of each of :data:`FEATURES` (None: fit first).
    """

    def __init__(self, table, coefficients: Optional[Dict[str, float]] = None):
        self.table = table
        self.coefficients = dict(coefficients) if coefficients else None
        self.fitted: Dict[str, float] = {}

    def fit(self, subnets: Sequence, measure: Callable[[str], float]) -> 'LatencyModel':
        """Measure ``subnets`` with ``measure(subnet) -> ms`` and fit the non-negative
        coefficients (least squares on the relative error, so that small and large
        subnets count alike).

        Raises:
            ValueError: fewer subnets than half the features.
        """
        from scipy.optimize import nnls

        subs = [str(self.table.space.validate(s)) for s in subnets]
        if len(subs) < len(FEATURES) // 2:
            raise ValueError(f'fit the latency model on at least {len(FEATURES) // 2} subnets, '
                             f'not {len(subs)}')
        self.fitted = {s: float(measure(s)) for s in subs}
        x = np.array([[subnet_features(self.table, s)[k] for k in FEATURES] for s in subs])
        y = np.array([self.fitted[s] for s in subs])
        w = 1.0 / y
        coef, _ = nnls(x * w[:, None], y * w)
        self.coefficients = dict(zip(FEATURES, map(float, coef)))
        return self

    def predict(self, subnet) -> float:
        """Predicted latency of ``subnet`` in ms.

        Raises:
            RuntimeError: the model is not fitted.
        """
        if self.coefficients is None:
            raise RuntimeError('the latency model is not fitted: call fit() or give coefficients')
        f = subnet_features(self.table, subnet)
        return float(sum(self.coefficients[k] * f[k] for k in FEATURES))

    def to_dict(self) -> dict:
        """Self-describing form (coefficients, input size, the measured subnets)."""
        return dict(features=list(FEATURES), coefficients=self.coefficients,
                    input_size=list(self.table.input_size), measured_ms=self.fitted)

    @classmethod
    def from_dict(cls, table, d: dict) -> 'LatencyModel':
        """A fitted model back from :meth:`to_dict` (for the same table's input size).

        Raises:
            ValueError: another input size or feature set.
        """
        same = (list(d.get('input_size', [])) == list(table.input_size)
                and list(d.get('features', [])) == list(FEATURES))
        if not same:
            raise ValueError(f'the stored latency model is for {d.get("input_size")} and features '
                             f'{d.get("features")}, not {list(table.input_size)} and {list(FEATURES)}')
        m = cls(table, d['coefficients'])
        m.fitted = dict(d.get('measured_ms') or {})
        return m


def kendall(a: List[float], b: List[float]) -> float:
    """Kendall tau between two lists (scipy)."""
    from scipy.stats import kendalltau

    return float(kendalltau(a, b)[0])
