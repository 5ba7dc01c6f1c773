"""Helpers for tests: a supernet Faster R-CNN config over a modular space."""
import copy

from .space import ModularSpace


def supernet_faster_rcnn_cfg(space: ModularSpace, num_classes: int = 3) -> dict:
    """A Faster R-CNN model config whose backbone, FPN, RPN and box head are searchable,
    at the maximum widths of ``space`` (anchors, losses and train/test settings as the
    structural builder's R-CNN)."""
    from smnas.structural import Candidate
    from smnas.structural.builder import build_model_cfg

    mw = space.max_widths()
    cfg = build_model_cfg(Candidate.parse('r18_fpn-p2p5-p6_rpn_rcnn_512x512'), num_classes,
                          fpn_channels=mw['neck'], fc_channels=mw['head'])
    cfg = copy.deepcopy(cfg)
    cfg['backbone'] = dict(type='SearchableResNet', space=space.to_dict())
    cfg['neck'] = dict(type='SearchableFPN', in_channels=mw['stages'], out_channels=mw['neck'],
                       num_outs=5)
    cfg['rpn_head'].update(type='SearchableRPNHead', in_channels=mw['neck'], feat_channels=mw['head'])
    cfg['roi_head']['bbox_roi_extractor'].update(type='SearchableRoIExtractor', out_channels=mw['neck'])
    cfg['roi_head']['bbox_head'].update(type='SearchableShared2FCBBoxHead', in_channels=mw['neck'],
                                        fc_out_channels=mw['head'])
    return cfg
