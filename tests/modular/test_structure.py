"""The StructureSupernet macro expands to the full searchable config."""
import pytest

from supernet.build import expand_architecture

from smnas.modular.structure import supernet_model_cfg

from ..supernet.common import RCNN, TINY_SPACE


def test_shorthand_equals_the_builder_with_overrides_merged():
    full = expand_architecture(dict(type='StructureSupernet', structure=RCNN, num_classes=4,
                                    overrides=dict(test_cfg=dict(rcnn=dict(score_thr=0.001)))),
                               TINY_SPACE)
    ref = supernet_model_cfg(RCNN, TINY_SPACE, 4)
    assert full['test_cfg']['rcnn']['score_thr'] == 0.001
    assert full['test_cfg']['rcnn']['nms'] == ref['test_cfg']['rcnn']['nms']  # merged, not replaced
    full['test_cfg']['rcnn']['score_thr'] = ref['test_cfg']['rcnn']['score_thr']
    assert full == ref
    assert full['neck']['in_channels'] == TINY_SPACE.max_widths()['stages']
    assert full['roi_head']['bbox_head']['num_classes'] == 4


def test_other_configs_pass_through():
    plain = dict(type='FasterRCNN', backbone=dict(type='ResNet'))
    assert expand_architecture(plain) == plain


def test_unknown_macro_keys_are_named():
    with pytest.raises(ValueError, match='unknown keys'):
        expand_architecture(dict(type='StructureSupernet', structure=RCNN, num_classes=2, widths=3),
                            TINY_SPACE)


def test_a_macro_without_a_space_is_refused():
    with pytest.raises(ValueError, match='needs a space'):
        expand_architecture(dict(type='StructureSupernet', structure=RCNN, num_classes=2))


@pytest.mark.parametrize('structure, block, depths', [
    ('r18_fpn-p2p5-p6_rpn_rcnn_512x512', 'basic', [2, 2, 2, 2]),
    ('r34_fpn-p2p5-p6_rpn_rcnn_512x512', 'basic', [3, 4, 6, 3]),
    ('r50_fpn-p2p5-p6_rpn_cascade3_512x512', 'bottleneck', [3, 4, 6, 3]),
    ('r101_fpn-p3p5-p6_none_retina_512x512', 'bottleneck', [3, 4, 23, 3]),
    ('x50_fpn-p2p5-p6_rpn_rcnn_512x512', 'grouped', [3, 4, 6, 3]),
    ('x101_fpn-p2p5-p6_rpn_rcnn_512x512', 'grouped', [3, 4, 23, 3]),
    ('mv2_fpn-p3p5-p5_none_retina_512x512', 'inverted', [2, 3, 7, 4]),
])
def test_the_space_follows_the_structures_family(structure, block, depths):
    from mmengine.config import Config

    from smnas.modular.structure import space_for_structure, with_structure_space
    from supernet.space import ModularSpace

    free = space_for_structure(dict(bases=[16, 24]), structure)
    assert free.get('block', 'basic') == block and free['max_depths'] == depths
    capped = space_for_structure(dict(bases=[16, 24], max_depths=[1, 2, 2, 1]), structure)
    assert capped['max_depths'] == [1, 2, 2, 1]  # a CPU cap set by the config is kept
    space = ModularSpace.from_dict(capped)
    built = supernet_model_cfg(structure, space, 3)['backbone']['space']
    assert space.block == block and ModularSpace.from_dict(built) == space
    cfg = Config(dict(model=dict(space=dict(bases=[16, 24]), architecture=dict(
        type='StructureSupernet', structure=structure, num_classes=3))))
    assert with_structure_space(cfg).model.space.get('block', 'basic') == block


def test_a_space_of_another_family_is_refused():
    from smnas.modular.structure import UnsupportedStructure, space_for_structure
    from supernet.space import ModularSpace

    with pytest.raises(UnsupportedStructure, match="block='basic'"):
        space_for_structure(dict(block='basic'), 'r50_fpn-p2p5-p6_rpn_rcnn_512x512')
    with pytest.raises(UnsupportedStructure, match="set model.space.block='bottleneck'"):
        supernet_model_cfg('r50_fpn-p2p5-p6_rpn_rcnn_512x512', TINY_SPACE, 3)
    with pytest.raises(UnsupportedStructure, match="block='inverted'"):
        space_for_structure(dict(block='basic'), 'mv2_fpn-p3p5-p6_none_retina_512x512')
    with pytest.raises(UnsupportedStructure, match='modular-family'):
        supernet_model_cfg('mv2_fpn-p3p5-p6_none_retina_512x512', ModularSpace(), 3)


def test_every_structure_of_the_structural_space_can_be_refined():
    """C4, GA-RPN, MobileNetV2 (FPN from P1 included): no structure is passed over."""
    from smnas.modular.structure import structure_problems
    from smnas.structural.space import StructuralSpace

    cands = StructuralSpace().candidates()
    assert len(cands) > 4000
    assert {str(c): structure_problems(c) for c in cands if structure_problems(c)} == {}
