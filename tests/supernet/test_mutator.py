"""The mutator is the one home of the active subnet, and ``use`` always puts it back."""
import pytest
from torch import nn

from supernet.models import SearchableResNet
from supernet.mutator import SubnetMutator

from .common import TINY_SPACE


@pytest.fixture
def backbone_and_mutator():
    backbone = SearchableResNet(TINY_SPACE.to_dict())
    return backbone, SubnetMutator(nn.ModuleList([backbone]), TINY_SPACE)


def test_nothing_set_means_the_max_subnet(backbone_and_mutator):
    _, mutator = backbone_and_mutator
    assert mutator.current == TINY_SPACE.max_subnet()


def test_use_applies_the_subnet_and_restores_the_previous_one(backbone_and_mutator):
    backbone, mutator = backbone_and_mutator
    mid = mutator.set_subnet('16_1-21-2-2_n32_h64')
    small = TINY_SPACE.min_subnet()
    with mutator.use('min') as sub:
        assert sub == small and mutator.current == small
        assert backbone.stage_channels()[0] == small.stage_widths()
    assert mutator.current == mid
    assert backbone.stage_channels()[0] == mid.stage_widths()


def test_use_restores_after_an_error(backbone_and_mutator):
    backbone, mutator = backbone_and_mutator
    with pytest.raises(RuntimeError, match='scoring failed'):
        with mutator.use('min'):
            raise RuntimeError('scoring failed')
    assert mutator.current == TINY_SPACE.max_subnet()
    assert backbone.stage_channels()[0] == TINY_SPACE.max_subnet().stage_widths()


def test_an_invalid_subnet_changes_nothing(backbone_and_mutator):
    backbone, mutator = backbone_and_mutator
    with pytest.raises(ValueError, match='base-choice'):
        with mutator.use('40_1-2-2-2_n32_h32'):
            pass
    assert mutator.current == TINY_SPACE.max_subnet()
    assert backbone.active_depths is None
