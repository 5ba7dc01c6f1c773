"""Every sampled candidate builds a detector that trains one step and predicts."""
import random

import pytest
import torch
from mmengine.optim import OptimWrapper

from smnas.structural import Candidate, StructuralSpace
from smnas.structural.builder import build_config, build_model_cfg
from smnas.testing import build_detector, config_path, demo_batch

SPACE = StructuralSpace()
# 30 random candidates plus one of each C4 / GA / cascade-4 / MobileNetV2-P1 kind.
SAMPLE = [SPACE.sample(random.Random(i)) for i in range(30)] + [
    Candidate.parse(s) for s in ('r50_c4_ga_rcnn_512x512', 'x50_fpn-p2p5-p6_rpn_cascade4_512x512',
                                 'mv2_fpn-p1p3-p6_none_retina_512x512', 'r18_c4_rpn_rcnn_1333x800')]


def tiny(c):
    # 64 FPN channels: GroupNorm(32) needs > 1 value per group on a 1x1 P6 of a tiny input
    return build_model_cfg(c, num_classes=3, fpn_channels=64, fc_channels=64, rcnn_samples=32)


@pytest.mark.parametrize('cand', SAMPLE, ids=str)
def test_candidate_builds_trains_and_predicts(cand):
    model = build_detector(tiny(cand))
    model.train()
    optim = OptimWrapper(torch.optim.SGD(model.parameters(), lr=1e-3))
    losses = model.train_step(demo_batch(batch_size=1, size=(64, 64)), optim)
    assert all(torch.isfinite(v).all() for v in losses.values())
    model.eval()
    with torch.no_grad():
        out = model.test_step(demo_batch(batch_size=1, size=(64, 64)))
    assert out[0].pred_instances.bboxes.shape[-1] == 4


def test_model_structure_follows_the_candidate():
    cfg = build_model_cfg(Candidate.parse('r50_fpn-p3p5-p6_ga_cascade3_800x600'), 7)
    assert cfg['type'] == 'CascadeRCNN' and cfg['roi_head']['num_stages'] == 3
    assert cfg['backbone']['out_indices'] == (1, 2, 3)
    assert cfg['neck']['in_channels'] == [512, 1024, 2048] and cfg['neck']['num_outs'] == 4
    assert cfg['rpn_head']['type'] == 'GARPNHead'
    assert cfg['rpn_head']['square_anchor_generator']['strides'] == [8, 16, 32, 64]
    assert [h['num_classes'] for h in cfg['roi_head']['bbox_head']] == [7] * 3
    assert cfg['backbone']['conv_cfg'] == dict(type='ConvWS')
    c4 = build_model_cfg(Candidate.parse('x50_c4_rpn_rcnn_512x512'), 3, pretrained={'x50': '/ckpt.pth'})
    assert c4['backbone']['type'] == 'ResNeXt' and c4['backbone']['out_indices'] == (2, )
    assert c4['roi_head']['shared_head']['type'] == 'ResLayer'
    assert c4['backbone']['init_cfg'] == dict(type='Pretrained', checkpoint='/ckpt.pth')
    retina = build_model_cfg(Candidate.parse('mv2_fpn-p2p4-p6_none_retina_512x512'), 3)
    assert retina['type'] == 'RetinaNet' and retina['neck']['add_extra_convs'] == 'on_input'
    assert retina['backbone']['norm_cfg']['num_groups'] == 8


def test_build_config_sets_input_size_everywhere():
    from mmengine.config import Config
    base = Config.fromfile(str(config_path('structural/quickstart_synthetic.py')))
    space = StructuralSpace.from_cfg(base.search_space)
    cfg = build_config(Candidate.parse('r18_fpn-p2p5-p6_rpn_rcnn_1080x720'), space, base, 5)
    assert cfg.candidate['input_size'] == [224, 128]  # a fifth of 1080x720, multiples of 32
    assert cfg.train_dataloader.dataset.pipeline[2]['scale'] == (224, 128)
    assert cfg.test_dataloader.dataset.pipeline[1]['scale'] == (224, 128)
    assert cfg.val_cfg is None and cfg.model.roi_head.bbox_head.num_classes == 5
