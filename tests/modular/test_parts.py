"""Few-shot parts: checkpoints that split the space on one choice are accepted and route
each subnet to its part; anything else is refused with what is wrong and where."""
import pytest
import torch
from supernet.space import ModularSpace

from smnas.modular.export import NotASupernetCheckpoint
from smnas.modular.parts import InvalidParts, SupernetParts

SPACE = ModularSpace(bases=(16, 24), max_depths=(1, 2, 1, 2), neck_channels=(32, 64, 96),
                     head_channels=(32, 64))


def _ckpt(tmp_path, name, part=None, space=SPACE):
    path = tmp_path / f'{name}.pth'
    torch.save(dict(state_dict={}, meta=dict(supernet_space=space.to_dict(), supernet_part=part)), path)
    return str(path)


def test_one_supernet_scores_every_subnet(tmp_path):
    one = _ckpt(tmp_path, 'one')
    parts = SupernetParts.from_checkpoints([one], SPACE)
    assert parts.key is None and parts.paths == [one] and parts.describe() == one
    assert {parts.checkpoint_of(s) for s in (SPACE.min_subnet(), str(SPACE.max_subnet()))} == {one}


def test_parts_split_on_one_choice_route_each_subnet_to_its_part(tmp_path):
    a = _ckpt(tmp_path, 'a', dict(neck_channels=[32, 96]))
    b = _ckpt(tmp_path, 'b', dict(neck_channels=[64]))
    parts = SupernetParts.from_checkpoints([b, a], SPACE)
    assert parts.key == 'neck_channels' and set(parts.paths) == {a, b}
    assert parts.checkpoint_of('16_1-2-2-2_n64_h32') == b
    assert parts.checkpoint_of('24_1-21-2-21_n96_h64') == a
    assert parts.checkpoint_of(SPACE.min_subnet()) == a  # n32
    assert 'few-shot on neck_channels' in parts.describe()


@pytest.mark.parametrize('parts, error', [
    ([dict(neck_channels=[64])], 'was trained on the part neck_channels=\\[64\\] of the space only'),
    ([None, dict(neck_channels=[64])], 'a supernet of the whole space'),
    ([dict(neck_channels=[32, 96]), dict(head_channels=[32])], 'split the space on one choice list'),
    ([dict(neck_channels=[32], head_channels=[32]), dict(neck_channels=[64, 96])], 'on one choice list'),
    ([dict(neck_channels=[32, 64]), dict(neck_channels=[64, 96])], 'neck_channels=64 is in two parts'),
    ([dict(neck_channels=[32]), dict(neck_channels=[64])], 'no part holds neck_channels=\\[96\\]'),
])
def test_what_does_not_split_the_space_is_refused(tmp_path, parts, error):
    paths = [_ckpt(tmp_path, f'p{i}', part) for i, part in enumerate(parts)]
    with pytest.raises(InvalidParts, match=error):
        SupernetParts.from_checkpoints(paths, SPACE)


def test_a_part_of_another_space_is_refused(tmp_path):
    other = ModularSpace(bases=(16, 32), max_depths=(1, 2, 1, 2), neck_channels=(32, 64, 96),
                         head_channels=(32, 64))
    a = _ckpt(tmp_path, 'a', dict(neck_channels=[32, 96]))
    b = _ckpt(tmp_path, 'b', dict(neck_channels=[64]), space=other)
    with pytest.raises(NotASupernetCheckpoint, match='another search space'):
        SupernetParts.from_checkpoints([a, b], SPACE)
    with pytest.raises(InvalidParts, match='no supernet checkpoint'):
        SupernetParts.from_checkpoints([], SPACE)
