"""A supernet detector around a structure chosen by the structural stage.

The structure contributes the FPN levels, the RPN, the head (Faster R-CNN, Cascade
R-CNN with 2-4 stages, RetinaNet) and its losses and train/test settings; the modular
space replaces the backbone by the searchable ResNet and sets the FPN and head
widths. Whatever the structural backbone was, the modular stage searches the
space's ResNet-style encoding, as SM-NAS does.
"""
from typing import List, Optional, Tuple, Union

from smnas.utils.errors import RuleViolation

from .space import ModularSpace


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


def supernet_model_cfg(structure: Union[str, 'object'], space: ModularSpace, num_classes: int,
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
    from smnas.structural import Candidate
    from smnas.structural.builder import build_model_cfg

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


def _merge(base: dict, override: dict) -> dict:
    """``override`` merged into a copy of ``base`` (dicts recursively, other values replaced)."""
    out = dict(base)
    for k, v in override.items():
        out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def expand_architecture(arch: dict, space: Optional[ModularSpace] = None) -> dict:
    """The full searchable model config of a ``StructureSupernet`` shorthand (other
    configs are returned unchanged).

    The shorthand keeps configs short and their widths consistent::

        architecture=dict(type='StructureSupernet', structure='r18_fpn-p2p5-p6_rpn_rcnn_800x600',
                          num_classes=80, overrides=dict(test_cfg=dict(rcnn=dict(score_thr=0.01))))

    Args:
        arch: the ``architecture`` config of a supernet.
        space: the modular space, used when ``arch`` names none.

    Returns:
        A plain mmdet model dict (``overrides`` merged into it).
    """
    arch = dict(arch)
    if arch.get('type') != 'StructureSupernet':
        return arch
    unknown = set(arch) - {'type', 'structure', 'num_classes', 'space', 'rcnn_samples', 'overrides'}
    if unknown:
        raise ValueError(f'StructureSupernet takes structure, num_classes, space, rcnn_samples and '
                         f'overrides; unknown keys: {sorted(unknown)}')
    if arch.get('space') is not None:
        space = ModularSpace.from_dict(dict(arch['space']))
    if space is None:
        raise ValueError('StructureSupernet needs a space (its own or the supernet\'s)')
    cfg = supernet_model_cfg(arch['structure'], space, int(arch['num_classes']),
                             rcnn_samples=int(arch.get('rcnn_samples', 128)))
    return _merge(cfg, _plain(arch.get('overrides') or {}))


def _plain(node):
    """ConfigDicts and tuples from configs as plain dicts and lists."""
    if isinstance(node, dict):
        return {k: _plain(v) for k, v in node.items()}
    if isinstance(node, (list, tuple)):
        return [_plain(v) for v in node]
    return node
