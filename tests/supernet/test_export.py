"""A supernet Faster R-CNN at a subnet equals its exported stock-mmdet model."""
import random

import pytest
import torch

import supernet  # noqa: F401  registers the searchable models
from smnas.testing import build_detector, demo_batch
from supernet.export import export_subnet
from supernet.mutator import SubnetMutator
from supernet.space import ModularSpace
from supernet.testing import supernet_faster_rcnn_cfg

SPACE = ModularSpace(bases=(16, 24), max_depths=(2, 2, 2, 2), neck_channels=(32, 64),
                     head_channels=(32, 64))


@pytest.fixture(scope='module')
def net():
    torch.manual_seed(0)
    cfg = supernet_faster_rcnn_cfg(SPACE)
    model = build_detector(cfg)
    for m in model.modules():
        if isinstance(m, torch.nn.GroupNorm):
            torch.nn.init.normal_(m.weight, 1.0, 0.2)
    return cfg, model.eval(), SubnetMutator(model, SPACE)


@pytest.mark.parametrize('i', range(4))
def test_exported_subnet_equals_supernet(net, i):
    cfg, model, mutator = net
    sub = [SPACE.max_subnet(), SPACE.min_subnet(), SPACE.sample(random.Random(1)),
           SPACE.sample(random.Random(2))][i]
    mutator.set_subnet(sub)
    static_cfg, sd = export_subnet(cfg, model.state_dict(), sub)
    assert static_cfg['neck']['type'] == 'FPN' and static_cfg['rpn_head']['type'] == 'RPNHead'
    static = build_detector(static_cfg)
    static.load_state_dict(sd, strict=True)
    static.eval()
    data = demo_batch(batch_size=1, size=(96, 128))
    with torch.no_grad():
        a = model.test_step(data)[0].pred_instances
        b = static.test_step(data)[0].pred_instances
        fa = model.extract_feat(torch.randn(1, 3, 64, 64, generator=torch.Generator().manual_seed(3)))
        fb = static.extract_feat(torch.randn(1, 3, 64, 64, generator=torch.Generator().manual_seed(3)))
    for u, v in zip(fa, fb):
        assert u.shape[1] == sub.neck
        torch.testing.assert_close(u, v, rtol=1e-4, atol=1e-4)
    torch.testing.assert_close(a.scores, b.scores, rtol=1e-4, atol=1e-4)
    torch.testing.assert_close(a.bboxes, b.bboxes, rtol=1e-3, atol=1e-3)


def test_mutator_refuses_invalid_subnets(net):
    from supernet.space import InvalidSubnet
    _, _, mutator = net
    with pytest.raises(InvalidSubnet, match='base-choice'):
        mutator.set_subnet('40_1-2-2-2_n32_h32')
