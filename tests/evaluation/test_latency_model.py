"""The latency model: its features add up to the FLOPs table's count, it recovers a
latency that is linear in them, ranks subnets by it, and round-trips."""
import random

import pytest
import torch

from smnas.evaluation.latency_model import (FEATURES, LatencyModel, kendall, measure_subnet_ms,
                                            measure_subnets_ms, subnet_features)
from smnas.modular.structure import supernet_model_cfg
from smnas.testing import build_detector
from supernet.flops import FlopsTable

from ..supernet.common import RCNN, TINY_SPACE


@pytest.fixture(scope='module')
def table():
    torch.manual_seed(0)
    model = build_detector(dict(type='SandwichSupernet', architecture=supernet_model_cfg(RCNN, TINY_SPACE, 3),
                                space=TINY_SPACE.to_dict(), num_random_subnets=0))
    return model, FlopsTable(model, (96, 64), num_rois=10)


def test_features_add_up_to_the_flops(table):
    _, t = table
    for sub in [TINY_SPACE.min_subnet(), TINY_SPACE.max_subnet(), TINY_SPACE.sample(random.Random(1))]:
        f = subnet_features(t, sub)
        conv = f['conv_flops_s4'] + f['conv_flops_s8_16'] + f['conv_flops_s32']
        assert (conv + f['linear_flops']) * 1e9 <= t.flops(sub)
        norm = sum(fl for _, kind, fl, _ in t.layers(sub) if kind == 'norm')
        assert (conv + f['linear_flops']) * 1e9 + norm == pytest.approx(t.flops(sub))
        assert min(f['conv_flops_s4'], f['conv_flops_s8_16'], f['conv_flops_s32']) > 0  # every level
        assert f['conv_layers'] > 0 and f['constant'] == 1.0
    extremes = (TINY_SPACE.max_subnet(), TINY_SPACE.min_subnet())
    big, small = (subnet_features(t, s)['outputs'] for s in extremes)
    assert big > small


def test_a_linear_latency_is_recovered_and_ranked(table):
    _, t = table
    truth = dict(conv_flops_s4=60.0, conv_flops_s8_16=30.0, conv_flops_s32=20.0, outputs=3.0,
                 conv_layers=0.05, constant=2.0)

    def measure(sub):
        f = subnet_features(t, sub)
        return sum(truth.get(k, 0.0) * f[k] for k in FEATURES)

    rng = random.Random(0)
    fit = [TINY_SPACE.sample(rng) for _ in range(10)] + [TINY_SPACE.min_subnet(), TINY_SPACE.max_subnet()]
    model = LatencyModel(t).fit(fit, measure)
    held = [TINY_SPACE.sample(random.Random(100 + i)) for i in range(12)]
    pred, real = [model.predict(s) for s in held], [measure(s) for s in held]
    assert pred == pytest.approx(real, rel=1e-3)
    assert kendall(pred, real) > 0.99
    again = LatencyModel.from_dict(t, model.to_dict())
    assert again.predict(held[0]) == pytest.approx(model.predict(held[0]))
    with pytest.raises(ValueError, match='at least'):
        LatencyModel(t).fit(fit[:2], measure)
    with pytest.raises(RuntimeError, match='not fitted'):
        LatencyModel(t).predict(held[0])


def test_a_subnet_is_measured_as_a_static_model(table):
    model, _ = table
    ms = measure_subnet_ms(model.architecture_cfg, model.architecture.state_dict(), TINY_SPACE.min_subnet(),
                           (96, 64), repeats=2, warmup=1)
    assert ms > 0


def test_subnets_are_timed_in_interleaved_rounds(table):
    model, _ = table
    subs = [TINY_SPACE.min_subnet(), TINY_SPACE.max_subnet()]
    runs = measure_subnets_ms(model.architecture_cfg, model.architecture.state_dict(), subs + subs[:1],
                              (96, 64), rounds=3, repeats=1, warmup=1)
    assert list(runs) == [str(s) for s in subs]  # once each, in order
    assert all(len(r) == 3 and min(r) > 0 for r in runs.values())
    raw = measure_subnets_ms(model.architecture_cfg, model.architecture.state_dict(), subs[:1], (96, 64),
                             rounds=2, repeats=3, warmup=0, reduce=None)
    assert [len(r) for r in raw[str(subs[0])]] == [3, 3]  # every run of every round
