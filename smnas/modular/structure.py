"""A supernet detector around a structure chosen by the structural stage.

The structure contributes the backbone's block family, the neck (FPN levels, or C4:
res5 as the RoI head), the RPN (plain or Guided-Anchor), the head (Faster R-CNN,
Cascade R-CNN with 2-4 stages, RetinaNet) and its losses and train/test settings; the
modular space replaces the backbone by the searchable backbone of that family (basic
blocks for R18/R34, bottlenecks for R50/R101, grouped bottlenecks for X50/X101,
inverted residuals for MobileNetV2) and sets the FPN and head widths.

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


#: structural backbone -> (block family of the modular space, the family's stage depths)
FAMILIES = {
    'r18': ('basic', (2, 2, 2, 2)), 'r34': ('basic', (3, 4, 6, 3)),
    'r50': ('bottleneck', (3, 4, 6, 3)), 'r101': ('bottleneck', (3, 4, 23, 3)),
    'x50': ('grouped', (3, 4, 6, 3)), 'x101': ('grouped', (3, 4, 23, 3)),
    # MobileNetV2's inverted residuals by output level: 24 (x2) at P2, 32 (x3) at P3,
    # 64 (x4) and 96 (x3) at P4, 160 (x3) and 320 (x1) at P5; its first one (16 channels,
    # ratio 1, at P1) has no counterpart: the stem feeds stage 1, whose first block strides
    'mv2': ('inverted', (2, 3, 7, 4)),
}


#: the neck choices of a C4 structure's space: it has no neck (``_n0_`` in a subnet string)
C4_NECK = (0, )


def _check_family(c, block: str) -> None:
    """Refuse a space of another block family than structure ``c``'s backbone: never a
    silent switch of family (an MV2 structure refined as a ResNet, say)."""
    own = FAMILIES[c.backbone][0]
    if block != own:
        raise UnsupportedStructure('modular-family', f'{c} has {own} blocks ({c.backbone}), but the modular '
                                   f'space sets block={block!r}; set model.space.block={own!r} or leave it '
                                   f'unset (the structure sets it: space_for_structure)')


def space_for_structure(space: dict, structure) -> dict:
    """The modular space (dict form) that refines ``structure``'s own backbone: the block
    family follows the structure; ``max_depths`` is kept when the space sets it (e.g. a
    CPU cap), otherwise the family's depths (R101: 3-4-23-3). A C4 structure has no
    neck: its neck choice is :data:`C4_NECK`.

    Raises:
        UnsupportedStructure: a backbone with no searchable family.
    """
    from ..structural import Candidate

    c = Candidate.parse(structure) if isinstance(structure, str) else structure
    if c.backbone not in FAMILIES:
        raise UnsupportedStructure('modular-family', structure_problems(c)[0][1])
    block, depths = FAMILIES[c.backbone]
    out = dict(space)
    _check_family(c, out.get('block', block))
    out['block'] = block
    out.setdefault('max_depths', list(depths))
    if c.neck.kind == 'c4':
        out['neck_channels'] = list(C4_NECK)  # no neck: its width is no choice
    if block == 'basic':
        out.pop('block')  # the form basic-block checkpoints store
    return out


def with_structure_space(cfg):
    """A supernet config whose modular space follows its structure (``StructureSupernet``
    architectures): the block family of the structure's backbone, and the family's
    depths unless the space sets ``max_depths``. Other configs are returned unchanged.

    Args:
        cfg: an mmengine config of a supernet.

    Returns:
        ``cfg``, changed in place.

    Raises:
        UnsupportedStructure: a backbone without a searchable family, or a space whose
            ``block`` is another family's.
    """
    model = cfg.get('model') or {}
    arch = model.get('architecture') or {}
    if model.get('space') is None or arch.get('type') != 'StructureSupernet' or not arch.get('structure'):
        return cfg
    space = model['space']
    cfg.model.space = space_for_structure(space.to_dict() if hasattr(space, 'to_dict') else dict(space),
                                          arch['structure'])
    return cfg


def structure_problems(structure) -> List[Tuple[str, str]]:
    """Every (rule, message) that stops a supernet being built around ``structure``."""
    c = structure
    out = []
    if c.backbone not in FAMILIES:
        out.append(('modular-family', f'{c.backbone} has no searchable block family; the modular stage '
                    f'refines {"/".join(b.upper() for b in FAMILIES)}'))
    lowest = 1 if FAMILIES.get(c.backbone, ('', ))[0] == 'inverted' else 2  # P1: a stride-2 stem
    if c.neck.kind == 'fpn' and c.neck.in_lo < lowest:
        out.append(('modular-levels', f'the searchable backbone outputs levels P{lowest}-P5; '
                    f'{c.neck} takes P{c.neck.in_lo}'))
    return out


def _dense_head(head: dict, searchable: str, in_channels: int, feat_channels: int) -> None:
    head.update(type=searchable, in_channels=in_channels, feat_channels=feat_channels)


def supernet_model_cfg(structure: Union[str, object], space: ModularSpace, num_classes: int,
                       rcnn_samples: int = 128) -> dict:
    """The searchable detector (``SandwichSupernet.architecture``) for a structure.

    With an FPN, the backbone's stages feed the searchable FPN (neck width) and the
    heads (head width). A C4 structure has no neck: the backbone runs stages 1-3, the
    RPN sees stage 3's output, and stage 4 runs on the pooled RoIs as the box head's
    shared head, searched like the others (:class:`~supernet.models.SearchableResStage`);
    its space's neck choice is ``0``. A Guided-Anchor RPN is searched as a plain RPN
    is: its RPN conv and its deformable feature adaption take the head width.

    Args:
        structure: a structural candidate or its string, e.g.
            ``r50_fpn-p2p5-p6_rpn_cascade3_800x600``.
        space: the modular space (its maxima size every layer).
        num_classes: object classes.
        rcnn_samples: RoIs sampled per image for the box head(s) in training.

    Returns:
        A plain mmdet model dict whose backbone, neck and heads are searchable.

    Raises:
        UnsupportedStructure: FPN levels below the backbone's lowest output (P2; P1 for
            inverted residuals), another family's space, or a C4 space with neck choices.
    """
    from ..structural import Candidate
    from ..structural.builder import build_model_cfg

    c = Candidate.parse(structure) if isinstance(structure, str) else structure
    UnsupportedStructure.raise_if_any(c, structure_problems(c))
    _check_family(c, space.block)
    c4 = c.neck.kind == 'c4'
    if c4 and tuple(space.neck_channels) != C4_NECK:
        raise UnsupportedStructure('modular-c4-neck', f'{c} has no neck: its space needs '
                                   f'neck_channels={list(C4_NECK)}, not {list(space.neck_channels)} '
                                   f'(space_for_structure sets it)')
    mw = space.max_widths()
    head_c = mw['head']
    feat_c = mw['stages'][2] if c4 else mw['neck']
    cfg = build_model_cfg(c, num_classes, norm='gnws', fpn_channels=feat_c, fc_channels=head_c,
                          rcnn_samples=rcnn_samples)
    if c4:
        cfg['backbone'] = dict(type='SearchableResNet', space=space.to_dict(), out_indices=(2, ),
                               num_stages=3)
    else:
        out_indices = tuple(lv - 2 for lv in range(c.neck.in_lo, c.neck.in_hi + 1))
        cfg['backbone'] = dict(type='SearchableResNet', space=space.to_dict(), out_indices=out_indices)
        cfg['neck'].update(type='SearchableFPN',
                           in_channels=space.feature_widths(space.max_subnet(), out_indices))
    if not c.two_stage:
        _dense_head(cfg['bbox_head'], 'SearchableRetinaHead', feat_c, head_c)
        return cfg
    _dense_head(cfg['rpn_head'], 'SearchableGARPNHead' if c.rpn == 'ga' else 'SearchableRPNHead',
                feat_c, head_c)
    roi = cfg['roi_head']
    roi['bbox_roi_extractor'].update(type='SearchableRoIExtractor', out_channels=feat_c)
    if c4:
        roi['bbox_roi_extractor'].update(stage=2, expansion=space.expansion)
        roi['shared_head'] = dict(type='SearchableResStage', space=space.to_dict(), stage=3)
        roi['bbox_head'].update(type='SearchableBBoxHead', in_channels=mw['stages'][3])
        return cfg
    heads = roi['bbox_head'] if isinstance(roi['bbox_head'], list) else [roi['bbox_head']]
    for h in heads:
        h.update(type='SearchableShared2FCBBoxHead', in_channels=feat_c, fc_out_channels=head_c)
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
