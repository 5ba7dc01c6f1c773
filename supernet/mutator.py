"""The one place that holds the active subnet and applies it to a supernet."""
import random
from typing import List, Union

from torch import nn

from .space import ModularSpace, Subnet


class SubnetMutator:
    """Holds the active subnet of a supernet and applies it to its searchable parts.

    Every searchable module exposes ``apply_subnet(subnet)``; the mutator calls it on
    each of them once per change (before a forward pass, never inside one).

    Args:
        model: the supernet detector (or any module containing searchable parts).
        space: the modular space subnets are validated against.
    """

    def __init__(self, model: nn.Module, space: ModularSpace):
        self.space = space
        self.targets: List[nn.Module] = [m for m in model.modules()
                                         if m is not model and callable(getattr(m, 'apply_subnet', None))]
        if not self.targets:
            raise ValueError('the model has no searchable module (nothing defines apply_subnet)')
        self.current: Subnet = None

    def set_subnet(self, subnet: Union[Subnet, str]) -> Subnet:
        """Validate ``subnet`` and make it active; returns it."""
        sub = self.space.validate(subnet)
        for m in self.targets:
            m.apply_subnet(sub)
        self.current = sub
        return sub

    def set_max(self) -> Subnet:
        return self.set_subnet(self.space.max_subnet())

    def set_min(self) -> Subnet:
        return self.set_subnet(self.space.min_subnet())

    def sample(self, rng: random.Random) -> Subnet:
        """Activate a uniformly random subnet drawn with ``rng``."""
        return self.set_subnet(self.space.sample(rng))
