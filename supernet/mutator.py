"""The one place that holds the active subnet and applies it to a supernet."""
import random
from contextlib import contextmanager
from typing import Iterator, List, Optional, Union

from torch import nn

from .space import ModularSpace, Subnet


class SubnetMutator:
    """Holds the active subnet of a supernet and applies it to its searchable parts.

    The mutator is the only source of truth for the active choices: every searchable
    module exposes ``apply_subnet(subnet)``, which sets its ops' ``active_out``
    widths (and the backbone's depths); the mutator calls it on each of them once
    per change (before a forward pass, never inside one), and nothing else does.
    To score a subnet and put the previous one back, use :meth:`use`.

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
        self._current: Optional[Subnet] = None

    @property
    def current(self) -> Subnet:
        """The active subnet (the max subnet until another is set: with nothing set,
        every searchable op runs at its maximum)."""
        return self._current if self._current is not None else self.space.max_subnet()

    def set_subnet(self, subnet: Union[Subnet, str]) -> Subnet:
        """Validate ``subnet`` and make it active.

        Args:
            subnet: a :class:`Subnet` or its string form.

        Returns:
            The validated subnet.

        Raises:
            supernet.InvalidSubnet: outside the space.
        """
        sub = self.space.validate(subnet)
        for m in self.targets:
            m.apply_subnet(sub)
        self._current = sub
        return sub

    @contextmanager
    def use(self, subnet: Union[Subnet, str]) -> Iterator[Subnet]:
        """Make ``subnet`` active inside the block and restore the previous subnet after
        it, however the block ends::

            with mutator.use('48_1-2-2-2_n128_h128') as sub:
                score(model)

        Yields:
            The validated subnet.
        """
        previous = self.current
        sub = self.set_subnet(subnet)
        try:
            yield sub
        finally:
            self.set_subnet(previous)

    def set_max(self) -> Subnet:
        """Activate the widest and deepest subnet."""
        return self.set_subnet(self.space.max_subnet())

    def set_min(self) -> Subnet:
        """Activate the narrowest and shallowest subnet."""
        return self.set_subnet(self.space.min_subnet())

    def sample(self, rng: random.Random) -> Subnet:
        """Activate a uniformly random subnet drawn with ``rng``."""
        return self.set_subnet(self.space.sample(rng))
