"""The modular space: string form, rules, count, extremes, sampling."""
import random

import pytest

from supernet.space import InvalidSubnet, ModularSpace, Subnet

SPACE = ModularSpace()


def test_paper_example_round_trip_and_widths():
    s = SPACE.validate('64_1-21-21-12_n256_h128')
    assert str(s) == '64_1-21-21-12_n256_h128' and Subnet.parse(str(s)) == s
    assert Subnet.from_dict(s.to_dict()) == s and hash(s) == hash(Subnet.parse(str(s)))
    assert s.block_widths() == [[64], [128, 128], [256, 256], [256, 512]]
    assert s.stage_widths() == [64, 128, 256, 512]


def test_count_extremes_and_samples_are_valid():
    # stage choices: 3 (stage 1: depth 1-3) x 10 x 21 x 6, times 4 bases x 3 x 3 widths
    assert SPACE.count() == 3 * 10 * 21 * 6 * 4 * 3 * 3
    assert str(SPACE.max_subnet()) == '72_111-2111-211111-211_n512_h512'
    assert str(SPACE.min_subnet()) == '48_1-2-2-2_n128_h128'
    rng = random.Random(0)
    subs = [SPACE.sample(rng) for _ in range(200)]
    for s in subs:
        assert SPACE.validate(str(s)) == s
    assert len({str(s) for s in subs}) > 150


def test_all_enumerates_every_valid_subnet_once():
    small = ModularSpace(bases=(48, 64), max_depths=(2, 2, 2, 2), neck_channels=(128, 256),
                         head_channels=(128, 256))
    subs = list(small.all())
    assert len(subs) == len(set(subs)) == small.count() == 432
    assert all(small.validate(str(s)) == s for s in subs)
    assert small.max_subnet() in subs and small.min_subnet() in subs


@pytest.mark.parametrize('text, rule', [
    ('40_1-21-21-12_n256_h128', 'base-choice'),
    ('64_1-21-21-12-1_n256_h128', 'stage-count'),
    ('64_1-21-11-12_n256_h128', 'doubling-rule'),
    ('64_1-21-221-12_n256_h128', 'doubling-rule'),
    ('64_2-21-21-12_n256_h128', 'doubling-rule'),
    ('64_1-21-21-12_n300_h128', 'neck-choice'),
    ('64_1-21-21-12_n256_h100', 'head-choice'),
    ('64_1111-21-21-12_n256_h128', 'stage-depth'),
    ('64_1-23-21-12_n256_h128', 'block-digit'),
    ('64_1-21-21-12', 'syntax'),
    ('sixty_1-21-21-12_n256_h128', 'syntax'),
])
def test_invalid_subnets_name_the_rule(text, rule):
    with pytest.raises(InvalidSubnet, match=rf'\[{rule}\]'):
        SPACE.validate(text)


def test_the_words_max_and_min_name_the_extremes():
    assert SPACE.validate('max') == SPACE.max_subnet()
    assert SPACE.validate(' MIN ') == SPACE.min_subnet()


INVERTED = ModularSpace(bases=(16, 24), max_depths=(2, 3, 7, 4), block='inverted', expansions=(3, 4, 6))


def test_inverted_residuals_choose_an_expansion_ratio_written_after_the_stages():
    s = INVERTED.validate('24_11-211-2111111-2111_e4_n256_h128')
    assert s.expand == 4 and str(s) == '24_11-211-2111111-2111_e4_n256_h128'
    assert Subnet.parse(str(s)) == s and Subnet.from_dict(s.to_dict()) == s
    assert INVERTED.max_subnet().expand == 6 and INVERTED.min_subnet().expand == 3
    assert str(INVERTED.min_subnet()) == '16_1-2-2-2_e3_n128_h128'
    resnet = ModularSpace(bases=(16, 24), max_depths=(2, 3, 7, 4))
    assert INVERTED.count() == 3 * resnet.count()  # the ratio is one more choice
    rng = random.Random(0)
    assert {INVERTED.sample(rng).expand for _ in range(60)} == {3, 4, 6}
    assert ModularSpace.from_dict(INVERTED.to_dict()) == INVERTED
    assert ModularSpace(block='inverted').expansions == (3, 6)  # the default ratios
    assert 'expansions' not in resnet.to_dict()  # ResNet spaces keep the form they stored


@pytest.mark.parametrize('space, text, rule', [
    (INVERTED, '24_11-211-2111111-2111_n256_h128', 'expand-choice'),  # a ratio is needed
    (INVERTED, '24_11-211-2111111-2111_e5_n256_h128', 'expand-choice'),
    (SPACE, '64_1-21-21-12_e6_n256_h128', 'expand-choice'),  # a ResNet has none
    (INVERTED, '24_11-211-2111111-2111_ex_n256_h128', 'syntax'),
])
def test_expansion_ratios_are_checked(space, text, rule):
    with pytest.raises(InvalidSubnet, match=rf'\[{rule}\]'):
        space.validate(text)


def test_expansion_ratios_belong_to_inverted_residuals():
    with pytest.raises(ValueError, match='not of basic blocks'):
        ModularSpace(expansions=(6, ))


@pytest.mark.parametrize('space', [SPACE, INVERTED])
def test_picks_are_the_inverse_of_compose(space):
    rng = random.Random(2)
    names = [name for name, _ in space.dimensions()]
    for sub in [space.min_subnet(), space.max_subnet()] + [space.sample(rng) for _ in range(30)]:
        picks = space.picks(sub)
        assert list(picks) == names  # what a search suggests, in the same order
        assert all(picks[name] in choices for name, choices in space.dimensions())
        assert space.compose(picks) == sub
