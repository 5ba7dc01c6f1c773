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
