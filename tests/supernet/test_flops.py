"""The per-layer FLOPs table equals thop on exported static models and grows with
every width and depth choice."""
import random

import pytest
import torch

from smnas.evaluation import count_flops_params
from smnas.testing import build_detector
from smnas.modular.structure import supernet_model_cfg
from supernet.export import export_subnet
from supernet.flops import FlopsTable
from supernet.space import Subnet

from .common import STRUCTURES, tiny_space

SIZE = (112, 80)  # not a multiple of 32: the padded size counts, as in thop


@pytest.fixture(scope='module', params=STRUCTURES)
def table(request):
    torch.manual_seed(0)
    space = tiny_space(request.param)
    model = build_detector(dict(type='SandwichSupernet',
                                architecture=supernet_model_cfg(request.param, space, 3),
                                space=space.to_dict(), num_random_subnets=0))
    return model, FlopsTable(model, SIZE, num_rois=20), space


@pytest.mark.parametrize('i', range(3))
def test_table_matches_thop_on_the_exported_model(table, i):
    model, t, space = table
    sub = [space.max_subnet(), space.min_subnet(), space.sample(random.Random(i))][i]
    cfg, sd = export_subnet(model.architecture_cfg, model.architecture.state_dict(), sub)
    static = build_detector(cfg)
    if 'rpn' in static.test_cfg:  # thop with the same RoI budget as the table
        static.test_cfg.rpn.max_per_img = 20
    ref = count_flops_params(static, SIZE)['flops']
    assert t.flops(sub) == pytest.approx(ref, rel=0.01)
    assert str(model.mutator.current) == str(space.max_subnet())  # restored


def _grown(sub: Subnet, **change) -> Subnet:
    d = sub.to_dict()
    d.update(change)
    return Subnet.from_dict(d)


def test_flops_strictly_grow_with_each_width_and_depth_choice(table):
    _, t, space = table
    base = space.min_subnet()
    for field, choices in (('base', space.bases), ('neck', space.neck_channels),
                           ('head', space.head_channels)):
        values = [t.flops(_grown(base, **{field: c})) for c in sorted(choices)]
        assert all(a < b for a, b in zip(values, values[1:])), (field, values)
    for s in range(4):  # one more block in any stage
        stages = list(base.stages)
        stages[s] = stages[s] + '1'
        assert t.flops(_grown(base, stages=stages)) > t.flops(base)
    assert t.flops(space.max_subnet()) > t.flops(space.sample(random.Random(0))) > 0


def test_width_rules_price_every_subnet_as_a_forward_pass_does(table):
    """The learnt width and run rules (one mutator call and a sum) give the FLOPs that
    reading widths with a forward pass gives, on subnets they were not learnt from."""
    model, t, space = table
    assert t.learn_rules(), 'no width rules: every subnet would be priced with a forward pass'
    forward = FlopsTable(model, SIZE, num_rois=20, rule_samples=0)
    assert not forward.learn_rules()
    rng = random.Random(123)
    for sub in [space.sample(rng) for _ in range(12)]:
        assert t.flops(sub) == forward.flops(sub)
    assert str(model.mutator.current) == str(space.max_subnet())
