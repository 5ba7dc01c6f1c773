"""A supernet detector at a subnet equals its exported stock-mmdet model, for every
detector type the modular stage supports."""
import random

import pytest
import torch

from smnas.structural import Candidate
from smnas.testing import build_detector, demo_batch
from smnas.modular.structure import UnsupportedStructure, supernet_model_cfg
from supernet.export import export_subnet
from supernet.mutator import SubnetMutator

from .common import STRUCTURES, TINY_SPACE, tiny_space

SPACE = TINY_SPACE
STATIC_TYPES = {'rcnn': ('FasterRCNN', 'Shared2FCBBoxHead'), 'cascade2': ('CascadeRCNN', 'Shared2FCBBoxHead'),
                'retina': ('RetinaNet', 'RetinaHead')}


@pytest.fixture(scope='module', params=STRUCTURES)
def net(request):
    torch.manual_seed(0)
    space = tiny_space(request.param)
    cfg = supernet_model_cfg(request.param, space, 3)
    model = build_detector(cfg)
    # Break the symmetry of the initial GN affine parameters so that wrong slicing shows.
    for m in model.modules():
        if isinstance(m, torch.nn.GroupNorm):
            torch.nn.init.normal_(m.weight, 1.0, 0.2)
            torch.nn.init.normal_(m.bias, 0.0, 0.1)
    return request.param, cfg, model.eval(), SubnetMutator(model, space)


def _heads(cfg):
    if 'roi_head' in cfg:
        h = cfg['roi_head']['bbox_head']
        return h if isinstance(h, list) else [h]
    return [cfg['bbox_head']]


@pytest.mark.parametrize('i', range(3))
def test_exported_subnet_equals_supernet(net, i):
    structure, cfg, model, mutator = net
    space = mutator.space
    sub = [space.max_subnet(), space.min_subnet(), space.sample(random.Random(i))][i]
    mutator.set_subnet(sub)
    static_cfg, sd = export_subnet(cfg, model.state_dict(), sub)
    c = Candidate.parse(structure)
    detector, head = STATIC_TYPES[c.head]
    assert static_cfg['type'] == detector
    if c.neck.kind == 'c4':  # res5 runs on the RoIs, then mmdet's pooled box head
        assert 'neck' not in static_cfg and static_cfg['backbone']['num_stages'] == 3
        assert static_cfg['roi_head']['shared_head']['type'] == 'SubnetResStage'
        head = 'BBoxHead'
    else:
        assert static_cfg['neck']['type'] == 'FPN'
    assert all(h['type'] == head for h in _heads(static_cfg))
    rpn = static_cfg.get('rpn_head', {}).get('type')
    assert rpn in (None, 'RPNHead' if c.rpn != 'ga' else 'GARPNHeadFeat')
    assert 'Searchable' not in repr(static_cfg)
    static = build_detector(static_cfg)
    static.load_state_dict(sd, strict=True)
    static.eval()
    data = demo_batch(batch_size=1, size=(96, 128))
    x = torch.randn(1, 3, 64, 64, generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        a = model.test_step(data)[0].pred_instances
        b = static.test_step(data)[0].pred_instances
        fa, fb = model.extract_feat(x), static.extract_feat(x)
        if 'bbox_head' in cfg:  # RetinaNet: the head's raw outputs, every level
            ha, hb = model.bbox_head(fa), static.bbox_head(fb)
            for u, v in zip(sum(ha, []), sum(hb, [])):
                torch.testing.assert_close(u, v, rtol=1e-4, atol=1e-4)
    assert len(fa) == len(fb) == len(c.neck.out_levels)
    for u, v in zip(fa, fb):
        assert u.shape[1] == (sub.neck if c.neck.kind == 'fpn' else space.out_widths(sub)[2])
        torch.testing.assert_close(u, v, rtol=1e-4, atol=1e-4)
    assert len(a.scores) == len(b.scores)
    torch.testing.assert_close(a.scores, b.scores, rtol=1e-4, atol=1e-4)
    torch.testing.assert_close(a.bboxes, b.bboxes, rtol=1e-3, atol=1e-3)


def test_mutator_refuses_invalid_subnets(net):
    from supernet.space import InvalidSubnet
    mutator = net[3]
    with pytest.raises(InvalidSubnet, match='base-choice'):
        mutator.set_subnet('40_1-2-2-2_n32_h32')


@pytest.mark.parametrize('structure,rule', [
    ('r50_fpn-p1p5-p6_rpn_rcnn_800x600', 'modular-levels'),
])
def test_unsupported_structures_are_refused_with_the_reason(structure, rule):
    with pytest.raises(UnsupportedStructure, match=rule):
        supernet_model_cfg(structure, SPACE, 3)


def test_a_c4_structure_needs_its_neckless_space():
    with pytest.raises(UnsupportedStructure, match='modular-c4-neck'):
        supernet_model_cfg('r18_c4_rpn_rcnn_800x600', SPACE, 3)
    assert tiny_space('r18_c4_rpn_rcnn_800x600').neck_channels == (0, )
