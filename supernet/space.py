"""The modular search space: a subnet's backbone encoding and its neck and head widths.

A subnet is written ``64_1-21-21-12_n256_h128`` (SM-NAS's encoding): base width 64;
four ``-``-separated stages with one digit per block, ``1`` a block that keeps the
width and ``2`` a block that doubles it; FPN channels 256; head channels 128. Block
widths are ``base x 2 ** (doublings so far)``; the first block of stages 2-4 has
stride 2. By default exactly one block of each of stages 2-4 doubles, so three
doublings happen in all, as in the paper.

The block family is the space's (``block``), not the string's: the same string is a
basic-block ResNet (R18/R34), a bottleneck ResNet (R50/R101: 1x1, 3x3, 1x1 with 4x
expansion; the digits' widths are the bottleneck widths, so ``64_...`` has stage outputs
256-2048 as R50) or a grouped bottleneck (ResNeXt: a 3x3 conv twice as wide, in groups
of :data:`GROUP_WIDTH` channels in stage 1, doubling per stage as ResNeXt-32x4d's).

MobileNetV2's inverted residuals (``inverted``) add one choice, the expansion ratio of
every block (1x1 expand to ``ratio x`` its input width, 3x3 depthwise, linear 1x1
projection), written ``_e<ratio>`` after the stages: ``32_1-21-21-12_e6_n128_h128``.
"""
import random
from dataclasses import dataclass, field
from typing import Dict, Iterator, List, Optional, Sequence, Tuple

from .errors import RuleViolation


#: block family -> (stage output width / block width, 3x3 conv width / block width; 0: the
#: subnet's expansion ratio times the block's input width, as an inverted residual's)
BLOCKS: Dict[str, Tuple[int, int]] = {'basic': (1, 1), 'bottleneck': (4, 1), 'grouped': (4, 2),
                                      'inverted': (1, 0)}
#: channels per group of a grouped bottleneck's 3x3 conv in stage 1 (x2 per later stage):
#: ResNeXt-32x4d at base 64; other bases have other group counts (e.g. 24 at base 48)
GROUP_WIDTH = 4


class InvalidSubnet(RuleViolation):
    """A subnet outside the modular space; ``rule`` names the broken rule."""


@dataclass(frozen=True)
class Subnet:
    """One subnet (hashable; ``str()`` is its compact form and its cache key)."""
    base: int
    stages: Tuple[str, ...]
    neck: int
    head: int
    expand: Optional[int] = None  # inverted residuals' expansion ratio; None for ResNets

    def __str__(self) -> str:
        e = '' if self.expand is None else f'_e{self.expand}'
        return f'{self.base}_{"-".join(self.stages)}{e}_n{self.neck}_h{self.head}'

    @classmethod
    def parse(cls, text: str) -> 'Subnet':
        """Parse the string form (syntax only; :meth:`ModularSpace.validate` checks it).

        Raises:
            InvalidSubnet: rule ``syntax``.
        """
        parts = text.strip().split('_')
        expand = None
        if len(parts) == 5 and parts[2].startswith('e'):
            expand = parts.pop(2)[1:]
        if len(parts) != 4 or not parts[2].startswith('n') or not parts[3].startswith('h'):
            raise InvalidSubnet('syntax', f'{text!r} is not BASE_STAGES_nNECK_hHEAD (or BASE_STAGES_eRATIO_'
                                f'nNECK_hHEAD for inverted residuals), e.g. 64_1-21-21-12_n256_h128')
        try:
            base, neck, head = int(parts[0]), int(parts[2][1:]), int(parts[3][1:])
            expand = None if expand is None else int(expand)
        except ValueError:
            raise InvalidSubnet('syntax', f'{text!r}: base, expansion, neck and head must be '
                                f'integers') from None
        return cls(base, tuple(parts[1].split('-')), neck, head, expand)

    def to_dict(self) -> dict:
        """Plain-dict form."""
        d = dict(base=self.base, stages=list(self.stages), neck=self.neck, head=self.head)
        if self.expand is not None:
            d['expand'] = self.expand
        return d

    @classmethod
    def from_dict(cls, d: dict) -> 'Subnet':
        """The subnet of :meth:`to_dict`'s dict (JSON lists become tuples)."""
        return cls(int(d['base']), tuple(d['stages']), int(d['neck']), int(d['head']),
                   None if d.get('expand') is None else int(d['expand']))

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
        block: the block family, one of :data:`BLOCKS` (``basic``, ``bottleneck``,
            ``grouped``, ``inverted``).
        expansions: expansion ratios of inverted residuals (``inverted`` only; default
            3, 6 there).
    """
    bases: Sequence[int] = (48, 56, 64, 72)
    max_depths: Sequence[int] = (3, 4, 6, 3)
    neck_channels: Sequence[int] = (128, 256, 512)
    head_channels: Sequence[int] = (128, 256, 512)
    doublings: Sequence[int] = (0, 1, 1, 1)
    block: str = 'basic'
    expansions: Sequence[int] = ()
    _stage_choices: List[List[str]] = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self):
        if len(self.max_depths) != len(self.doublings):
            raise ValueError('max_depths and doublings need one entry per stage')
        for d, k in zip(self.max_depths, self.doublings):
            if not 0 <= k <= d:
                raise ValueError(f'a stage of at most {d} blocks cannot double {k} times')
        if self.block not in BLOCKS:
            raise ValueError(f'unknown block family {self.block!r}; choose one of {", ".join(BLOCKS)}')
        if self.block == 'inverted':
            self.expansions = tuple(self.expansions) or (3, 6)
            if min(self.expansions) < 1:
                raise ValueError(f'expansion ratios must be >= 1, got {list(self.expansions)}')
        elif self.expansions:
            raise ValueError(f'expansion ratios are a choice of inverted residuals, not of {self.block} '
                             f'blocks')
        if self.block == 'grouped':
            # every 3x3 width a block can have (before and after its stage's doublings) must
            # fill whole groups of the stage's group width
            for s in range(len(self.doublings)):
                d = self.group_width(s)
                for k in range(sum(self.doublings[:s]), sum(self.doublings[:s + 1]) + 1):
                    bad = [b for b in self.bases if (b * self.mid_ratio * 2 ** k) % d]
                    if bad:
                        raise ValueError(f'grouped bottlenecks: base widths {bad} give stage {s + 1} a '
                                         f'3x3 width that is not a multiple of its {d}-channel groups; '
                                         f'use bases that are multiples of {GROUP_WIDTH}')

    @property
    def expansion(self) -> int:
        """Stage output width per block width (1 for basic blocks, 4 for bottlenecks)."""
        return BLOCKS[self.block][0]

    @property
    def mid_ratio(self) -> int:
        """A block's 3x3 conv width per block width."""
        return BLOCKS[self.block][1]

    def group_width(self, stage: int) -> Optional[int]:
        """Channels per group of stage ``stage``'s 3x3 convs (0-based): :data:`GROUP_WIDTH`,
        doubled with each doubling up to the end of the stage; None: not grouped."""
        return GROUP_WIDTH * 2 ** sum(self.doublings[:stage + 1]) if self.block == 'grouped' else None

    def out_widths(self, sub: Subnet) -> List[int]:
        """Output width of each stage of ``sub`` (what the neck receives)."""
        return [w * self.expansion for w in sub.stage_widths()]

    def feature_widths(self, sub: Subnet, out_indices: Sequence[int]) -> List[int]:
        """Width of each backbone output ``sub`` returns: stage ``i`` (0-based, P2-P5),
        or -1 for the stem (P1, inverted residuals' stride-2 stem: the base width)."""
        widths = self.out_widths(sub)
        return [sub.base if i == -1 else widths[i] for i in out_indices]

    def to_dict(self) -> dict:
        """Self-describing form stored with checkpoints and results."""
        d = dict(bases=list(self.bases), max_depths=list(self.max_depths),
                 neck_channels=list(self.neck_channels), head_channels=list(self.head_channels),
                 doublings=list(self.doublings))
        if self.block != 'basic':  # basic-block spaces keep the form their checkpoints stored
            d['block'] = self.block
        if self.expansions:
            d['expansions'] = list(self.expansions)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> 'ModularSpace':
        """The space of :meth:`to_dict`'s dict (JSON lists become tuples)."""
        return cls(**{k: v if isinstance(v, str) else tuple(v) for k, v in d.items()})

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
        if self.expansions and sub.expand not in self.expansions:
            out.append(('expand-choice', f'expansion ratio {sub.expand} is not one of '
                        f'{list(self.expansions)} (write it _e<ratio> after the stages)'))
        elif not self.expansions and sub.expand is not None:
            out.append(('expand-choice', f'{self.block} blocks have no expansion ratio to choose; '
                        f'drop _e{sub.expand}'))
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

    def dimensions(self) -> List[Tuple[str, list]]:
        """Every choice of a subnet, as (name, choices): ``base``, ``stage1``...,
        ``expand`` (inverted residuals only), ``neck``, ``head``; what a search suggests
        and a sampler draws, in this order."""
        dims = [('base', list(self.bases))]
        dims += [(f'stage{s + 1}', self.stage_choices(s)) for s in range(len(self.max_depths))]
        if self.expansions:
            dims.append(('expand', list(self.expansions)))
        return dims + [('neck', list(self.neck_channels)), ('head', list(self.head_channels))]

    def compose(self, picks: Dict[str, object]) -> Subnet:
        """The subnet of one pick per dimension (named as :meth:`dimensions` names them)."""
        return Subnet(int(picks['base']), tuple(picks[f'stage{s + 1}'] for s in range(len(self.max_depths))),
                      int(picks['neck']), int(picks['head']),
                      int(picks['expand']) if self.expansions else None)

    def picks(self, sub: Subnet) -> Dict[str, object]:
        """One pick per dimension of ``sub``: the inverse of :meth:`compose` (what a search
        enqueues to evaluate a given subnet)."""
        picks = {'base': sub.base}
        picks.update({f'stage{s + 1}': blocks for s, blocks in enumerate(sub.stages)})
        if self.expansions:
            picks['expand'] = sub.expand
        return dict(picks, neck=sub.neck, head=sub.head)

    def count(self) -> int:
        """Number of valid subnets."""
        n = 1
        for _, choices in self.dimensions():
            n *= len(choices)
        return n

    def all(self) -> Iterator[Subnet]:
        """Every valid subnet, in a fixed order (:meth:`count` of them)."""
        import itertools

        dims = self.dimensions()
        for picks in itertools.product(*(c for _, c in dims)):
            yield self.compose({name: v for (name, _), v in zip(dims, picks)})

    def max_subnet(self) -> Subnet:
        """The widest and deepest subnet (doublings as early as possible)."""
        stages = tuple('2' * k + '1' * (d - k) for d, k in zip(self.max_depths, self.doublings))
        return Subnet(max(self.bases), stages, max(self.neck_channels), max(self.head_channels),
                      max(self.expansions) if self.expansions else None)

    def min_subnet(self) -> Subnet:
        """The narrowest and shallowest subnet (doublings as late as possible)."""
        stages = tuple('1' * (max(1, k) - k) + '2' * k for k in self.doublings)
        return Subnet(min(self.bases), stages, min(self.neck_channels), min(self.head_channels),
                      min(self.expansions) if self.expansions else None)

    def sample(self, rng: random.Random) -> Subnet:
        """A uniformly random subnet."""
        return self.compose({name: rng.choice(choices) for name, choices in self.dimensions()})

    def max_stage_plan(self) -> List[Tuple[int, int]]:
        """(largest input width, largest block width) of each stage: what sizes the
        supernet's blocks (a stage's later blocks take its largest output width in)."""
        width, stage_in, out = max(self.bases), max(self.bases), []
        for k in self.doublings:
            width *= 2 ** k
            out.append((stage_in, width))
            stage_in = width * self.expansion
        return out

    def max_widths(self) -> Dict[str, int]:
        """Largest width of every stage output, neck and head (the supernet's sizes)."""
        big = self.max_subnet()
        return dict(stages=self.out_widths(big), neck=big.neck, head=big.head)
