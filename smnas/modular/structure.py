"""A supernet detector around a structure chosen by the structural stage.

The structure contributes the FPN levels, the RPN, the head (Faster R-CNN, Cascade
R-CNN with 2-4 stages, RetinaNet) and its losses and train/test settings; the modular
space replaces the backbone by the searchable ResNet and sets the FPN and head
widths. Whatever the structural backbone was, the modular stage searches the
space's ResNet-style encoding, as SM-NAS does.

Registers the ``StructureSupernet`` architecture macro
(:func:`supernet.build.register_architecture_macro`)::

    architecture=dict(type='StructureSupernet', structure='r18_fpn-p2p5-p6_rpn_rcnn_800x600',
                      num_classes=80, overrides=dict(test_cfg=dict(rcnn=dict(score_thr=0.01))))
"""
from typing import List, Optional, Tuple, Union

from supernet.build import merge_config, register_architecture_macro
from supernet.errors import RuleViolation
from supernet.space import ModularSpace


class UnsupportedStructure(RuleViolation):
    """A structure the modular stage cannot build a supernet around."""


def structure_problems(structure) -> List[Tuple[str, str]]:
    """Every (rule, message) that stops a supernet being built around ``structure``."""
    c = structure
    out = []
    if c.neck.kind != 'fpn':
        out.append(('modular-needs-fpn', 'the modular stage searches FPN widths; C4 structures '
                    '(a shared ResLayer head) have no FPN'))
    elif c.neck.in_lo < 2:
        out.append(('modular-levels', f'the searchable ResNet outputs levels P2-P5; '
                    f'{c.neck} takes P{c.neck.in_lo}'))
    if c.rpn == 'ga':
        out.append(('modular-rpn', 'Guided-Anchor RPN has no searchable version; use a structure '
                    'with a plain RPN (rpn) or a one-stage head'))
    return out


def supernet_model_cfg(structure: Union[str, object], space: ModularSpace, num_classes: int,
                       rcnn_samples: int = 128) -> dict:
    """The searchable detector (``SandwichSupernet.architecture``) for a structure.

    Args:
        structure: a structural candidate or its string, e.g.
            ``r50_fpn-p2p5-p6_rpn_cascade3_800x600``.
        space: the modular space (its maxima size every layer).
        num_classes: object classes.
        rcnn_samples: RoIs sampled per image for the box head(s) in training.

    Returns:
        A plain mmdet model dict whose backbone, FPN and heads are searchable.

    Raises:
        UnsupportedStructure: a C4 neck, levels below P2 or a Guided-Anchor RPN.
    """
    from ..structural import Candidate
    from ..structural.builder import build_model_cfg

    c = Candidate.parse(structure) if isinstance(structure, str) else structure
    UnsupportedStructure.raise_if_any(c, structure_problems(c))
    mw = space.max_widths()
    neck_c, head_c = mw['neck'], mw['head']
    cfg = build_model_cfg(c, num_classes, norm='gnws', fpn_channels=neck_c, fc_channels=head_c,
                          rcnn_samples=rcnn_samples)
    out_indices = tuple(lv - 2 for lv in range(c.neck.in_lo, c.neck.in_hi + 1))
    cfg['backbone'] = dict(type='SearchableResNet', space=space.to_dict(), out_indices=out_indices)
    cfg['neck'].update(type='SearchableFPN', in_channels=[mw['stages'][i] for i in out_indices])
    if not c.two_stage:
        cfg['bbox_head'].update(type='SearchableRetinaHead', in_channels=neck_c, feat_channels=head_c)
        return cfg
    cfg['rpn_head'].update(type='SearchableRPNHead', in_channels=neck_c, feat_channels=head_c)
    roi = cfg['roi_head']
    roi['bbox_roi_extractor'].update(type='SearchableRoIExtractor', out_channels=neck_c)
    heads = roi['bbox_head'] if isinstance(roi['bbox_head'], list) else [roi['bbox_head']]
    for h in heads:
        h.update(type='SearchableShared2FCBBoxHead', in_channels=neck_c, fc_out_channels=head_c)
    return cfg


@register_architecture_macro('StructureSupernet')
def structure_supernet(space: ModularSpace, structure: str, num_classes: int, rcnn_samples: int = 128,
                       overrides: Optional[dict] = None) -> dict:
    """The ``StructureSupernet`` macro: :func:`supernet_model_cfg` with ``overrides`` of
    the full model config merged into it.

    Returns:
        A plain mmdet model dict.
    """
    cfg = supernet_model_cfg(structure, space, int(num_classes), rcnn_samples=int(rcnn_samples))
    return merge_config(cfg, dict(overrides or {}))
