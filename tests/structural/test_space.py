"""The structural space: count, string round trip, validity rules, repair."""
import random

import pytest

from smnas.structural import RULES, Candidate, InvalidCandidate, StructuralSpace


@pytest.fixture(scope='module')
def space():
    return StructuralSpace()


def test_full_space_count_and_breakdown(space):
    # 6 ResNet/ResNeXt x (16 FPN x 9 detectors + C4 x 2) + MobileNetV2 x 30 FPN x 9,
    # times 4 input sizes (see StructuralSpace.explain_count).
    assert space.count() == (6 * (16 * 9 + 2) + 30 * 9) * 4 == 4584
    bd = space.count_breakdown()
    assert bd['neck c4'] == 6 * 2 * 4 and bd['mv2'] == 30 * 9 * 4
    assert '4584 valid candidates' in space.explain_count()
    assert len(set(map(str, space.candidates()))) == space.count()


def test_string_round_trip_for_every_candidate(space):
    for c in space.candidates():
        s = str(c)
        assert Candidate.parse(s) == c
        assert space.validate(s) == c
        assert hash(Candidate.parse(s)) == hash(c)


@pytest.mark.parametrize('text, rule', [
    ('r50_c4_rpn_cascade3_800x600', 'c4-rcnn-head-only'),
    ('mv2_c4_rpn_rcnn_512x512', 'c4-resnet-only'),
    ('r18_fpn-p1p5-p6_rpn_rcnn_512x512', 'fpn-levels-provided'),
    ('r18_fpn-p3p3-p6_rpn_rcnn_512x512', 'fpn-two-inputs'),
    ('r18_fpn-p2p5-p4_rpn_rcnn_512x512', 'fpn-outputs-extend-inputs'),
    ('r18_fpn-p2p5-p7_rpn_rcnn_512x512', 'fpn-outputs-extend-inputs'),
    ('r18_fpn-p2p5-p6_none_rcnn_512x512', 'two-stage-needs-rpn'),
    ('r18_fpn-p2p5-p6_ga_retina_512x512', 'one-stage-without-rpn'),
    ('r152_fpn-p2p5-p6_rpn_rcnn_512x512', 'known-backbone'),
    ('r18_fpn-p2p5-p6_rpn_yolo_512x512', 'known-head'),
    ('r18_fpn-p2p5-p6_rpn_rcnn_500x500', 'space-input'),
    ('r18_bifpn_rpn_rcnn_512x512', 'neck-syntax'),
    ('r18_fpn-p2p5-p6_rpn_rcnn', 'syntax'),
    ('r18_fpn-p2p5-p6_rpn_rcnn_axb', 'syntax'),
])
def test_invalid_strings_name_the_rule(space, text, rule):
    with pytest.raises(InvalidCandidate, match=rf'\[{rule}\]') as e:
        space.validate(text)
    assert e.value.rule == rule


def test_rules_are_documented_and_unique():
    names = [r.name for r in RULES]
    assert len(names) == len(set(names)) and all(r.description for r in RULES)


def test_restricted_space_and_input_scale():
    s = StructuralSpace(backbones=['r18', 'mv2'], necks=['c4', 'fpn-p2p5-p6'], rpns=['rpn', 'none'],
                        heads=['rcnn', 'retina'], input_sizes=[(800, 600)], input_scale=0.25)
    # r18: c4+rpn+rcnn, fpn+rpn+rcnn, fpn+none+retina; mv2: the two FPN ones.
    assert s.count() == 5
    c = s.validate('r18_fpn-p2p5-p6_rpn_rcnn_800x600')
    assert s.scaled_input(c) == (192, 160)
    with pytest.raises(InvalidCandidate, match='space-backbone'):
        s.validate('r50_fpn-p2p5-p6_rpn_rcnn_800x600')
    with pytest.raises(InvalidCandidate, match='empty-space'):
        StructuralSpace(backbones=['mv2'], necks=['c4'])
    with pytest.raises(InvalidCandidate, match='known-backbone'):
        StructuralSpace(backbones=['vgg16'])


def test_repair_maps_every_raw_choice_to_a_valid_candidate():
    s = StructuralSpace(backbones=['r18', 'mv2'], input_sizes=[(512, 512)])
    ch = s.choices()
    rng = random.Random(0)
    for _ in range(300):
        raw = {k: rng.choice(v) for k, v in ch.items()}
        c = s.repair(raw['backbone'], raw['neck'], raw['detector'], raw['input'])
        assert not s.violations(c)
        assert c.backbone == raw['backbone'] and f'{c.input_size[0]}x{c.input_size[1]}' == raw['input']
    # a valid raw choice is kept as it is
    assert str(s.repair('r18', 'fpn-p3p5-p6', 'rpn-cascade3', '512x512')) == \
        'r18_fpn-p3p5-p6_rpn_cascade3_512x512'


def test_sampling_is_seeded(space):
    a = [str(space.sample(random.Random(5))) for _ in range(3)]
    b = [str(space.sample(random.Random(5))) for _ in range(3)]
    assert a == b
