"""The modular search space: a subnet's backbone encoding and its neck and head widths.

A subnet is written ``64_1-21-21-12_n256_h128`` (SM-NAS's encoding): base width 64;
four ``-``-separated stages with one digit per block, ``1`` a block that keeps the
width and ``2`` a block that doubles it; FPN channels 256; head channels 128. Block
widths are ``base x 2 ** (doublings so far)``; the first block of stages 2-4 has
stride 2. By default exactly one block of each of stages 2-4 doubles, so three
doublings happen in all, as in the paper.
"""
import random
from dataclasses import dataclass, field
from typing import Dict, Iterator, List, Sequence, Tuple

from .errors import RuleViolation


class InvalidSubnet(RuleViolation):
    """A subnet outside the modular space; ``rule`` names the broken rule."""


@dataclass(frozen=True)
class Subnet:
    """One subnet (hashable; ``str()`` is its compact form and its cache key)."""
    base: int
    stages: Tuple[str, ...]
    neck: int
    head: int

    def __str__(self) -> str:
        return f'{self.base}_{"-".join(self.stages)}_n{self.neck}_h{self.head}'

    @classmethod
    def parse(cls, text: str) -> 'Subnet':
        """Parse the string form (syntax only; :meth:`ModularSpace.validate` checks it).

        Raises:
            InvalidSubnet: rule ``syntax``.
        """
        parts = text.strip().split('_')
        if len(parts) != 4 or not parts[2].startswith('n') or not parts[3].startswith('h'):
            raise InvalidSubnet('syntax', f'{text!r} is not BASE_STAGES_nNECK_hHEAD, '
                                f'e.g. 64_1-21-21-12_n256_h128')
        try:
            base, neck, head = int(parts[0]), int(parts[2][1:]), int(parts[3][1:])
        except ValueError:
            raise InvalidSubnet('syntax', f'{text!r}: base, neck and head must be integers') from None
        return cls(base, tuple(parts[1].split('-')), neck, head)

    def to_dict(self) -> dict:
        """Plain-dict form."""
        return dict(base=self.base, stages=list(self.stages), neck=self.neck, head=self.head)

    @classmethod
    def from_dict(cls, d: dict) -> 'Subnet':
        return cls(int(d['base']), tuple(d['stages']), int(d['neck']), int(d['head']))

    def block_widths(self) -> List[List[int]]:
        """Output width of every block, per stage."""
        width, out = self.base, []
        for stage in self.stages:
            widths = []
            for digit in stage:
                if digit == '2':
                    width *= 2
                widths.append(width)
            out.append(widths)
        return out

    def stage_widths(self) -> List[int]:
        """Output width of each stage (its last block)."""
        return [w[-1] for w in self.block_widths()]


@dataclass
class ModularSpace:
    """Choices of the modular stage.

    Args:
        bases: base widths.
        max_depths: most blocks per stage (a stage has 1..max blocks).
        neck_channels: FPN output widths.
        head_channels: head widths (RPN conv, RoI head convs/fcs, RetinaNet convs).
        doublings: doubling blocks required per stage (default 0, 1, 1, 1).
    """
    bases: Sequence[int] = (48, 56, 64, 72)
    max_depths: Sequence[int] = (3, 4, 6, 3)
    neck_channels: Sequence[int] = (128, 256, 512)
    head_channels: Sequence[int] = (128, 256, 512)
    doublings: Sequence[int] = (0, 1, 1, 1)
    _stage_choices: List[List[str]] = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self):
        if len(self.max_depths) != len(self.doublings):
            raise ValueError('max_depths and doublings need one entry per stage')
        for d, k in zip(self.max_depths, self.doublings):
            if not 0 <= k <= d:
                raise ValueError(f'a stage of at most {d} blocks cannot double {k} times')

    def to_dict(self) -> dict:
        """Self-describing form stored with checkpoints and results."""
        return dict(bases=list(self.bases), max_depths=list(self.max_depths),
                    neck_channels=list(self.neck_channels), head_channels=list(self.head_channels),
                    doublings=list(self.doublings))

    @classmethod
    def from_dict(cls, d: dict) -> 'ModularSpace':
        return cls(**{k: tuple(v) for k, v in d.items()})

    def stage_choices(self, s: int) -> List[str]:
        """Every valid encoding of stage ``s`` (short to long, doublings early first)."""
        if self._stage_choices is None:
            import itertools
            self._stage_choices = []
            for d_max, k in zip(self.max_depths, self.doublings):
                opts = []
                for depth in range(max(1, k), d_max + 1):
                    for pos in itertools.combinations(range(depth), k):
                        opts.append(''.join('2' if i in pos else '1' for i in range(depth)))
                self._stage_choices.append(opts)
        return self._stage_choices[s]

    def violations(self, sub: Subnet) -> List[Tuple[str, str]]:
        """Every (rule, message) ``sub`` breaks."""
        out = []
        if sub.base not in self.bases:
            out.append(('base-choice', f'base width {sub.base} is not one of {list(self.bases)}'))
        n = len(self.max_depths)
        if len(sub.stages) != n:
            out.append(('stage-count', f'{len(sub.stages)} stages, the space has {n}'))
        else:
            for s, (stage, d_max, k) in enumerate(zip(sub.stages, self.max_depths, self.doublings), 1):
                if not stage or set(stage) - {'1', '2'}:
                    out.append(('block-digit', f'stage {s} {stage!r}: blocks are "1" (keep) or "2" (double)'))
                    continue
                if len(stage) > d_max:
                    out.append(('stage-depth', f'stage {s} has {len(stage)} blocks, at most {d_max}'))
                if stage.count('2') != k:
                    out.append(('doubling-rule', f'stage {s} {stage!r} doubles {stage.count("2")} times; '
                                f'it must double exactly {k} time(s)'))
        if sub.neck not in self.neck_channels:
            out.append(('neck-choice', f'neck width {sub.neck} is not one of {list(self.neck_channels)}'))
        if sub.head not in self.head_channels:
            out.append(('head-choice', f'head width {sub.head} is not one of {list(self.head_channels)}'))
        return out

    def validate(self, sub) -> Subnet:
        """Parse (if a string) and check a subnet.

        Args:
            sub: a :class:`Subnet`, its string form, or the word ``max`` or ``min``.

        Returns:
            The subnet.

        Raises:
            InvalidSubnet: naming the first broken rule (all are in the message).
        """
        if isinstance(sub, str):
            word = sub.strip().lower()
            if word in ('max', 'min'):
                return self.max_subnet() if word == 'max' else self.min_subnet()
            sub = Subnet.parse(sub)
        InvalidSubnet.raise_if_any(sub, self.violations(sub))
        return sub

    def count(self) -> int:
        """Number of valid subnets."""
        n = len(self.bases) * len(self.neck_channels) * len(self.head_channels)
        for s in range(len(self.max_depths)):
            n *= len(self.stage_choices(s))
        return n

    def all(self) -> Iterator[Subnet]:
        """Every valid subnet, in a fixed order (:meth:`count` of them)."""
        import itertools

        for base, *stages, neck, head in itertools.product(
                self.bases, *(self.stage_choices(s) for s in range(len(self.max_depths))),
                self.neck_channels, self.head_channels):
            yield Subnet(base, tuple(stages), neck, head)

    def max_subnet(self) -> Subnet:
        """The widest and deepest subnet (doublings as early as possible)."""
        stages = tuple('2' * k + '1' * (d - k) for d, k in zip(self.max_depths, self.doublings))
        return Subnet(max(self.bases), stages, max(self.neck_channels), max(self.head_channels))

    def min_subnet(self) -> Subnet:
        """The narrowest and shallowest subnet (doublings as late as possible)."""
        stages = tuple('1' * (max(1, k) - k) + '2' * k for k in self.doublings)
        return Subnet(min(self.bases), stages, min(self.neck_channels), min(self.head_channels))

    def sample(self, rng: random.Random) -> Subnet:
        """A uniformly random subnet."""
        return Subnet(rng.choice(list(self.bases)),
                      tuple(rng.choice(self.stage_choices(s)) for s in range(len(self.max_depths))),
                      rng.choice(list(self.neck_channels)), rng.choice(list(self.head_channels)))

    def max_widths(self) -> Dict[str, int]:
        """Largest width of every stage output, neck and head (the supernet's sizes)."""
        big = self.max_subnet()
        return dict(stages=big.stage_widths(), neck=big.neck, head=big.head)
