"""The SM-NAS structural search space: which modules, combined how, at which input size.

A :class:`Candidate` is one detector structure: backbone, neck (C4, or FPN with
chosen input and output pyramid levels), RPN, head and input size. Its compact
string form is ``<backbone>_<neck>_<rpn>_<head>_<W>x<H>``, for example
``r50_fpn-p2p5-p6_rpn_cascade3_1333x800`` (FPN over P2-P5, outputs P2-P6) or
``r18_c4_ga_rcnn_800x600``.

Every validity rule lives in :data:`RULES`, so that an invalid candidate is refused
with the name of the rule it breaks, and the count of valid candidates is the size
of exactly the space those rules describe.
"""
import itertools
import random
from dataclasses import asdict, dataclass, field
from typing import Callable, Dict, List, Optional, Sequence, Tuple

from ..utils.errors import RuleViolation

# name -> family, pyramid levels it provides (level l has stride 2**l), and the
# channels of each level. ResNet's stem is not an output, so ResNets start at P2.
BACKBONES: Dict[str, dict] = {
    'r18': dict(family='resnet', depth=18, levels={2: 64, 3: 128, 4: 256, 5: 512}),
    'r34': dict(family='resnet', depth=34, levels={2: 64, 3: 128, 4: 256, 5: 512}),
    'r50': dict(family='resnet', depth=50, levels={2: 256, 3: 512, 4: 1024, 5: 2048}),
    'r101': dict(family='resnet', depth=101, levels={2: 256, 3: 512, 4: 1024, 5: 2048}),
    'x50': dict(family='resnext', depth=50, levels={2: 256, 3: 512, 4: 1024, 5: 2048}),
    'x101': dict(family='resnext', depth=101, levels={2: 256, 3: 512, 4: 1024, 5: 2048}),
    'mv2': dict(family='mobilenetv2', depth=None, levels={1: 16, 2: 24, 3: 32, 4: 96, 5: 320}),
}
RPNS = ('none', 'rpn', 'ga')
HEADS = ('rcnn', 'retina', 'cascade2', 'cascade3', 'cascade4')
INPUT_SIZES = ((512, 512), (800, 600), (1080, 720), (1333, 800))
MAX_LEVEL = 6  # FPN outputs go up to P6 (stride 64)
ONE_STAGE_HEADS = ('retina', )


class InvalidCandidate(RuleViolation):
    """A candidate outside the structural space; ``rule`` names the broken rule."""


@dataclass(frozen=True)
class Neck:
    """A neck: ``kind`` 'c4' (no neck, C4 features and a shared ResLayer head) or
    'fpn' over input levels ``in_lo..in_hi`` with outputs ``in_lo..out_hi``."""
    kind: str
    in_lo: int = 0
    in_hi: int = 0
    out_hi: int = 0

    def __str__(self) -> str:
        if self.kind == 'c4':
            return 'c4'
        return f'fpn-p{self.in_lo}p{self.in_hi}-p{self.out_hi}'

    @classmethod
    def parse(cls, text: str) -> 'Neck':
        """Parse ``c4`` or ``fpn-pLpH-pO``.

        Raises:
            InvalidCandidate: rule ``neck-syntax``.
        """
        if text == 'c4':
            return cls('c4')
        try:
            kind, ins, out = text.split('-')
            lo, hi = ins.lstrip('p').split('p')
            if kind != 'fpn' or not out.startswith('p'):
                raise ValueError
            return cls('fpn', int(lo), int(hi), int(out[1:]))
        except ValueError:
            raise InvalidCandidate('neck-syntax', f'neck {text!r} is neither "c4" nor '
                                   f'"fpn-p<in_lo>p<in_hi>-p<out_hi>" (e.g. fpn-p2p5-p6)') from None

    @property
    def out_levels(self) -> List[int]:
        """Pyramid levels the neck outputs (C4: [4])."""
        return [4] if self.kind == 'c4' else list(range(self.in_lo, self.out_hi + 1))


@dataclass(frozen=True)
class Candidate:
    """One detector structure of the space (hashable; use ``str()`` as its key)."""
    backbone: str
    neck: Neck
    rpn: str
    head: str
    input_size: Tuple[int, int]

    def __str__(self) -> str:
        w, h = self.input_size
        return f'{self.backbone}_{self.neck}_{self.rpn}_{self.head}_{w}x{h}'

    def to_dict(self) -> dict:
        """Plain-dict form (JSON-serialisable)."""
        d = asdict(self)
        d['neck'] = str(self.neck)
        d['input_size'] = list(self.input_size)
        return d

    @property
    def two_stage(self) -> bool:
        """Whether the head works on proposals (Faster or Cascade R-CNN), not dense (RetinaNet)."""
        return self.head not in ONE_STAGE_HEADS

    @property
    def cascade_stages(self) -> int:
        """Number of cascade stages (0 for non-cascade heads)."""
        return int(self.head[len('cascade'):]) if self.head.startswith('cascade') else 0

    @classmethod
    def parse(cls, text: str) -> 'Candidate':
        """Parse the string form (syntax only; validate with :meth:`StructuralSpace.validate`).

        Raises:
            InvalidCandidate: rule ``syntax`` or ``neck-syntax``.
        """
        parts = text.strip().split('_')
        if len(parts) != 5:
            raise InvalidCandidate('syntax', f'{text!r} must have five "_"-separated parts: '
                                   f'backbone_neck_rpn_head_WxH, e.g. r50_fpn-p2p5-p6_rpn_rcnn_800x600')
        backbone, neck, rpn, head, size = parts
        try:
            w, h = (int(v) for v in size.lower().split('x'))
        except ValueError:
            raise InvalidCandidate('syntax', f'input size {size!r} is not WxH') from None
        return cls(backbone, Neck.parse(neck), rpn, head, (w, h))


@dataclass(frozen=True)
class Rule:
    """A validity rule: ``check(candidate)`` returns None or what is wrong."""
    name: str
    description: str
    check: Callable[['Candidate'], Optional[str]] = field(compare=False)


def _levels(c: Candidate) -> Dict[int, int]:
    return BACKBONES[c.backbone]['levels']


RULES: List[Rule] = [
    Rule('known-backbone', f'backbone is one of {", ".join(BACKBONES)}',
         lambda c: None if c.backbone in BACKBONES else f'unknown backbone {c.backbone!r}'),
    Rule('known-rpn', f'rpn is one of {", ".join(RPNS)}',
         lambda c: None if c.rpn in RPNS else f'unknown rpn {c.rpn!r}'),
    Rule('known-head', f'head is one of {", ".join(HEADS)}',
         lambda c: None if c.head in HEADS else f'unknown head {c.head!r}'),
    Rule('one-stage-without-rpn', 'a one-stage head (RetinaNet) has no RPN',
         lambda c: None if c.two_stage or c.rpn == 'none' else
         f'head {c.head} is one-stage but rpn is {c.rpn!r}; use rpn "none"'),
    Rule('two-stage-needs-rpn', 'a two-stage head (R-CNN, Cascade) needs an RPN or GA-RPN',
         lambda c: None if not c.two_stage or c.rpn != 'none' else
         f'head {c.head} is two-stage and needs rpn "rpn" or "ga"'),
    Rule('c4-resnet-only', 'C4 (no neck) only with ResNet/ResNeXt, whose stage 4 is the shared head',
         lambda c: None if c.neck.kind != 'c4' or BACKBONES[c.backbone]['family'] != 'mobilenetv2'
         else f'C4 needs a ResNet/ResNeXt backbone, not {c.backbone}'),
    Rule('c4-rcnn-head-only', 'C4 (no neck) only with the R-CNN head',
         lambda c: None if c.neck.kind != 'c4' or c.head == 'rcnn' else
         f'C4 works with the rcnn head only, not {c.head}'),
    Rule('fpn-levels-provided', 'FPN input levels are levels the backbone provides',
         lambda c: None if c.neck.kind != 'fpn' or (
             c.neck.in_lo in _levels(c) and c.neck.in_hi in _levels(c)) else
         f'{c.backbone} provides P{min(_levels(c))}-P{max(_levels(c))}, '
         f'not P{c.neck.in_lo}-P{c.neck.in_hi}'),
    Rule('fpn-two-inputs', 'FPN reads at least two levels (in_lo < in_hi)',
         lambda c: None if c.neck.kind != 'fpn' or c.neck.in_lo < c.neck.in_hi else
         f'FPN input P{c.neck.in_lo}-P{c.neck.in_hi} has fewer than two levels'),
    Rule('fpn-outputs-extend-inputs', f'FPN outputs end at or above its last input, at most P{MAX_LEVEL}',
         lambda c: None if c.neck.kind != 'fpn' or c.neck.in_hi <= c.neck.out_hi <= MAX_LEVEL else
         f'FPN output top P{c.neck.out_hi} must be in P{c.neck.in_hi}-P{MAX_LEVEL}'),
    Rule('positive-input', 'input width and height are positive',
         lambda c: None if c.input_size[0] > 0 and c.input_size[1] > 0 else
         f'input size {c.input_size} is not positive'),
]
_RULES_BEFORE_LEVELS = 3  # the 'known-*' rules guard the lookups of the others


def all_necks(backbone: str) -> List[Neck]:
    """Every neck the rules allow for ``backbone`` (C4 first, then FPNs by levels)."""
    levels = sorted(BACKBONES[backbone]['levels'])
    necks = [Neck('c4')] if BACKBONES[backbone]['family'] != 'mobilenetv2' else []
    for lo, hi in itertools.combinations(levels, 2):
        for out in range(hi, MAX_LEVEL + 1):
            necks.append(Neck('fpn', lo, hi, out))
    return necks


class StructuralSpace:
    """The structural space, optionally restricted, with a global input scale.

    Args:
        backbones: allowed backbones (default all).
        necks: allowed neck strings (default all valid for each backbone).
        rpns: allowed RPN choices.
        heads: allowed heads.
        input_sizes: allowed (width, height) input sizes, at full scale.
        input_scale: factor applied to every input size when building and
            measuring a detector (small proxies: 0.25 makes 800x600 a 200x150 input).
    """

    def __init__(self, backbones: Optional[Sequence[str]] = None,
                 necks: Optional[Sequence[str]] = None, rpns: Sequence[str] = RPNS,
                 heads: Sequence[str] = HEADS,
                 input_sizes: Sequence[Sequence[int]] = INPUT_SIZES, input_scale: float = 1.0):
        self.backbones = list(backbones or BACKBONES)
        self.necks = None if necks is None else [str(Neck.parse(n)) for n in necks]
        self.rpns = list(rpns)
        self.heads = list(heads)
        self.input_sizes = [tuple(int(v) for v in s) for s in input_sizes]
        if not 0 < input_scale <= 4:
            raise ValueError(f'input_scale must be in (0, 4], got {input_scale}')
        self.input_scale = float(input_scale)
        for b in self.backbones:
            if b not in BACKBONES:
                raise InvalidCandidate('known-backbone', f'unknown backbone {b!r} in the space; '
                                       f'choose from {", ".join(BACKBONES)}')
        for r in self.rpns:
            if r not in RPNS:
                raise InvalidCandidate('known-rpn', f'unknown rpn {r!r}; choose from {RPNS}')
        for h in self.heads:
            if h not in HEADS:
                raise InvalidCandidate('known-head', f'unknown head {h!r}; choose from {HEADS}')
        if not self.candidates():
            raise InvalidCandidate('empty-space', 'the restricted space has no valid candidate')

    @classmethod
    def from_cfg(cls, cfg: Optional[dict]) -> 'StructuralSpace':
        """Build from a config dict (keys as the constructor's arguments)."""
        return cls(**dict(cfg or {}))

    def to_dict(self) -> dict:
        """Self-describing form stored with results."""
        return dict(backbones=self.backbones, necks=self.necks, rpns=self.rpns, heads=self.heads,
                    input_sizes=[list(s) for s in self.input_sizes], input_scale=self.input_scale)

    def scaled_input(self, c: Candidate) -> Tuple[int, int]:
        """The input size a candidate is trained and measured at (scaled, multiple of 32)."""
        return tuple(max(32, int(round(v * self.input_scale / 32)) * 32) for v in c.input_size)

    def violations(self, c: Candidate) -> List[Tuple[str, str]]:
        """Every (rule, message) that ``c`` breaks, restriction of the space included."""
        out = []
        for i, rule in enumerate(RULES):
            msg = rule.check(c)
            if msg:
                out.append((rule.name, msg))
                if i < _RULES_BEFORE_LEVELS:
                    return out
        if out:
            return out
        if c.backbone not in self.backbones:
            out.append(('space-backbone', f'backbone {c.backbone} is not in this space ({self.backbones})'))
        if self.necks is not None and str(c.neck) not in self.necks:
            out.append(('space-neck', f'neck {c.neck} is not in this space ({self.necks})'))
        if c.rpn not in self.rpns:
            out.append(('space-rpn', f'rpn {c.rpn} is not in this space ({self.rpns})'))
        if c.head not in self.heads:
            out.append(('space-head', f'head {c.head} is not in this space ({self.heads})'))
        if tuple(c.input_size) not in self.input_sizes:
            sizes = ', '.join(f'{w}x{h}' for w, h in self.input_sizes)
            out.append(('space-input', f'input {c.input_size[0]}x{c.input_size[1]} is not in this '
                        f'space ({sizes})'))
        return out

    def validate(self, c) -> Candidate:
        """Parse (if a string) and check a candidate.

        Returns:
            The candidate.

        Raises:
            InvalidCandidate: naming the first broken rule (all are in the message).
        """
        if isinstance(c, str):
            c = Candidate.parse(c)
        InvalidCandidate.raise_if_any(c, self.violations(c))
        return c

    def candidates(self) -> List[Candidate]:
        """All valid candidates, in a fixed order."""
        if not hasattr(self, '_all'):
            out = []
            for b in self.backbones:
                for neck in all_necks(b):
                    if self.necks is not None and str(neck) not in self.necks:
                        continue
                    for head in self.heads:
                        for rpn in self.rpns:
                            for size in self.input_sizes:
                                c = Candidate(b, neck, rpn, head, size)
                                if not self.violations(c):
                                    out.append(c)
            self._all = out
        return self._all

    def count(self) -> int:
        """Number of valid candidates."""
        return len(self.candidates())

    def sample(self, rng: random.Random) -> Candidate:
        """A uniformly random valid candidate."""
        return rng.choice(self.candidates())

    def count_breakdown(self) -> Dict[str, int]:
        """Valid candidates per backbone and per neck kind (for the count explanation)."""
        out: Dict[str, int] = {}
        for c in self.candidates():
            out[c.backbone] = out.get(c.backbone, 0) + 1
            key = f'neck {c.neck.kind}'
            out[key] = out.get(key, 0) + 1
        return out

    def choices(self) -> Dict[str, List[str]]:
        """Categorical choices for a sampler: one fixed list per dimension.

        The neck list is the union over backbones; :meth:`repair` maps a raw choice
        that does not fit its backbone to the nearest valid candidate.
        """
        necks = sorted({str(n) for c in self.candidates() for n in [c.neck]})
        dets = sorted({f'{c.rpn}-{c.head}' for c in self.candidates()})
        return dict(backbone=list(self.backbones), neck=necks, detector=dets,
                    input=[f'{w}x{h}' for w, h in self.input_sizes])

    def repair(self, backbone: str, neck: str, detector: str, input_size: str) -> Candidate:
        """The valid candidate nearest to a raw sampler choice (deterministic).

        Keeps backbone, input and detector (rpn-head) and moves the neck to the
        closest valid one for them (same kind first, then smallest level change); if
        no neck fits the detector, the detector falls back to the first valid one.
        """
        rpn, head = detector.split('-', 1)
        w, h = (int(v) for v in input_size.split('x'))
        want = Neck.parse(neck)
        if want.kind == 'c4':  # closest FPN to "features up to C4/C5": the standard P2-P5 -> P6
            want = Neck('c4', 2, 5, 6)
        for det in [(rpn, head)] + [tuple(d.split('-', 1)) for d in self.choices()['detector']]:
            options = [c for c in self.candidates()
                       if c.backbone == backbone and (c.rpn, c.head) == det and c.input_size == (w, h)]
            if options:
                def distance(c, want=want):
                    n = c.neck
                    return (n.kind != want.kind, abs(n.in_lo - want.in_lo) + abs(n.in_hi - want.in_hi)
                            + abs(n.out_hi - want.out_hi), str(n))
                return min(options, key=distance)
        raise InvalidCandidate('empty-space', f'no valid candidate with backbone {backbone}')

    def is_full(self) -> bool:
        """Whether this is the unrestricted space."""
        return (set(self.backbones) == set(BACKBONES) and self.necks is None
                and set(self.rpns) == set(RPNS) and set(self.heads) == set(HEADS)
                and set(self.input_sizes) == set(INPUT_SIZES))

    def explain_count(self) -> str:
        """How the count arises, compared with the paper's ~11,000 combinations."""
        n = self.count()
        bd = self.count_breakdown()
        per_b = ', '.join(f'{b}: {bd.get(b, 0)}' for b in self.backbones)
        head = (f'{n} valid candidates ({per_b}; {bd.get("neck fpn", 0)} with FPN, '
                f'{bd.get("neck c4", 0)} with C4)')
        if not self.is_full():
            return f'{head} in this restricted space; the full space has {StructuralSpace().count()}.'
        return (
            f'{head}. Each ResNet/ResNeXt offers C4 and 16 FPNs (>= 2 input levels of P2-P5, outputs '
            f'up to P6), MobileNetV2 30 FPNs (P1-P5); each FPN pairs with 9 RPN+head pairs '
            f'(RetinaNet alone; RPN or GA-RPN with R-CNN or Cascade 2/3/4), C4 with the R-CNN head '
            f'and either RPN; times {len(self.input_sizes)} input sizes. The paper reports about '
            f'11,000 combinations without listing its enumeration rules; a count of that order '
            f'arises when, for example, FPN outputs may also start above the lowest input level or '
            f'heads come in more variants, which this space does not enumerate separately.')
