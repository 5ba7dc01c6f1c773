"""Latency of any subnet on this device, predicted from its layers: a hardware-aware cost
for the modular search, where FLOPs rank measured latency only roughly.

A subnet's latency is modelled as a non-negative linear function of what its layers do
(:meth:`supernet.flops.FlopsTable.layers`): multiply-adds of convolutions and of linear
layers, the elements norms and every layer write (memory traffic, which dominates small
layers on CPUs), and how many layers of each kind run (a fixed cost per kernel launch or
call), plus a constant (the detector's post-processing, data conversion). The model is
fitted once per device and input size to the measured batch-1 latency of a few subnets
exported as static models (:func:`measure_subnet_ms`), then prices any subnet in one tiny
forward pass of the FLOPs table's replica.
"""
from typing import Callable, Dict, List, Optional, Sequence

import numpy as np

FEATURES = ('conv_flops', 'linear_flops', 'norm_elements', 'outputs', 'conv_layers', 'norm_layers',
            'linear_layers', 'constant')


def subnet_features(table, subnet) -> Dict[str, float]:
    """The latency model's features of ``subnet`` (FLOPs in G, elements in M).

    Args:
        table: the supernet's :class:`~supernet.flops.FlopsTable` (input size included).
        subnet: a subnet or its string.
    """
    f = dict.fromkeys(FEATURES, 0.0)
    f['constant'] = 1.0
    for _, kind, flops, outputs in table.layers(subnet):
        f['outputs'] += outputs / 1e6
        if kind == 'conv':
            f['conv_flops'] += flops / 1e9
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
    """Median batch-1 latency (ms) of ``subnet`` exported as a static model (WS folded),
    on the CPU with this process's threads."""
    from mmengine.config import ConfigDict
    from mmengine.registry import DefaultScope
    from mmdet.registry import MODELS

    from supernet.export import export_subnet

    from .measure import measure_latency

    cfg, sd = export_subnet(model_cfg, state_dict, subnet)
    with DefaultScope.overwrite_default_scope('mmdet'):
        model = MODELS.build(ConfigDict(cfg))
    model.load_state_dict(sd)
    timing = measure_latency(model.eval(), tuple(input_size), warmup=warmup, repeats=repeats)
    return float(timing['latency_ms'])


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
