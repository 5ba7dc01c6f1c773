"""Few-shot supernets: the space split on one choice into parts, one supernet per part.

One-shot weight sharing makes every subnet a compromise with all the others; few-shot NAS
(Zhao et al., ICML 2021) splits the space on one dimension (e.g. the neck width) and
trains one supernet per choice, usually starting from the one-shot supernet, so that a
subnet shares its weights only with the subnets of its part. A part is trained with
``model.part`` (:class:`supernet.algorithm.SandwichSupernet`), which its checkpoints
record as ``meta['supernet_part']``; a search scores each subnet with its part's weights.
"""
from dataclasses import dataclass
from typing import Dict, Optional, Sequence

from supernet.algorithm import part_space
from supernet.space import InvalidSubnet, ModularSpace, Subnet

from ..engine import load_local_checkpoint
from .export import NotASupernetCheckpoint, check_checkpoint_space

#: the space's choice lists a part may narrow -> the subnet's attribute holding the choice
PART_KEYS = {'bases': 'base', 'neck_channels': 'neck', 'head_channels': 'head', 'expansions': 'expand'}


class InvalidParts(ValueError):
    """Checkpoints that do not split the space into parts, one subnet in exactly one."""


def checkpoint_part(checkpoint: dict) -> Optional[dict]:
    """The part of the space a supernet checkpoint was trained on (``{key: [choices]}``),
    or None: the whole space."""
    return (checkpoint.get('meta') or {}).get('supernet_part') or None


def check_checkpoint_part(checkpoint: dict, subnet, path: str = 'checkpoint') -> None:
    """Refuse to take ``subnet``'s weights from a few-shot part's checkpoint that ``subnet``
    is not in: the part never trained them after the one-shot supernet it started from.

    Raises:
        smnas.modular.export.NotASupernetCheckpoint: naming the part and the subnet.
    """
    part = checkpoint_part(checkpoint)
    if not part:
        return
    try:
        part_space(ModularSpace.from_dict(checkpoint['meta']['supernet_space']), part).validate(subnet)
    except InvalidSubnet:
        raise NotASupernetCheckpoint(f'{path} is the few-shot part {_show(part)} of its supernet; '
                                     f'{subnet} is not in it: take its weights from the checkpoint of '
                                     f'its part') from None


@dataclass(frozen=True)
class SupernetParts:
    """The checkpoints that score the subnets of one space: one supernet of the whole
    space, or few-shot parts split on one choice.

    Args:
        key: the choice list the space is split on (one of :data:`PART_KEYS`), or None
            for one supernet.
        checkpoints: each choice of ``key`` -> the checkpoint of its part; ``{None: path}``
            for one supernet.
    """
    key: Optional[str]
    checkpoints: Dict[Optional[int], str]

    @classmethod
    def from_checkpoints(cls, paths: Sequence[str], space: ModularSpace) -> 'SupernetParts':
        """Read the parts of ``paths`` and check that they split ``space``.

        Args:
            paths: one checkpoint of the whole space, or one per part.
            space: the space searched.

        Returns:
            The parts.

        Raises:
            smnas.modular.export.NotASupernetCheckpoint: a checkpoint that is not a
                supernet of ``space``.
            InvalidParts: one checkpoint of a part only; several checkpoints not every one a
                part, split on different choices, overlapping, or leaving choices out.
        """
        paths = [str(p) for p in paths]
        if not paths:
            raise InvalidParts('no supernet checkpoint given')
        parts = {}
        for path in paths:
            ckpt = load_local_checkpoint(path, map_location='cpu')
            check_checkpoint_space(ckpt, space.to_dict(), path)
            parts[path] = checkpoint_part(ckpt)
        if len(paths) == 1:
            (path, part), = parts.items()
            if part:
                raise InvalidParts(f'{path} was trained on the part {_show(part)} of the space only: '
                                   f'pass the checkpoints of every part (few-shot), or a supernet of the '
                                   f'whole space')
            return cls(None, {None: path})
        whole = [p for p, part in parts.items() if not part]
        if whole:
            raise InvalidParts(f'{", ".join(whole)}: a supernet of the whole space; several checkpoints '
                               f'must each be a part (trained with model.part) of one split; to score '
                               f'by the mean of several supernets, give each as its own supernet of an '
                               f'ensemble (tools/search_subnet.py: --checkpoint once per supernet)')
        keys = {p: sorted(part) for p, part in parts.items()}
        if any(len(k) != 1 for k in keys.values()) or len({k[0] for k in keys.values()}) != 1:
            raise InvalidParts('few-shot parts split the space on one choice list, the same for every '
                               'part; these narrow ' + '; '.join(f'{p}: {_show(parts[p])}' for p in paths))
        key = next(iter(keys.values()))[0]
        checkpoints: Dict[Optional[int], str] = {}
        for path, part in parts.items():
            for choice in part[key]:
                if choice in checkpoints:
                    raise InvalidParts(f'{key}={choice} is in two parts: {checkpoints[choice]} and {path}')
                checkpoints[choice] = path
        missing = [c for c in space.to_dict()[key] if c not in checkpoints]
        if missing:
            raise InvalidParts(f'no part holds {key}={missing}: the parts given cover {sorted(checkpoints)} '
                               f'of {list(space.to_dict()[key])}')
        return cls(key, checkpoints)

    @property
    def paths(self) -> list:
        """Every checkpoint, each once, in the order of the split's choices."""
        return list(dict.fromkeys(self.checkpoints.values()))

    def checkpoint_of(self, subnet) -> str:
        """The checkpoint whose weights ``subnet`` (a :class:`Subnet` or its string) inherits."""
        if self.key is None:
            return self.checkpoints[None]
        sub = subnet if isinstance(subnet, Subnet) else Subnet.parse(str(subnet))
        return self.checkpoints[getattr(sub, PART_KEYS[self.key])]

    def describe(self) -> str:
        """One line: the checkpoint, or the split and each part's checkpoint."""
        if self.key is None:
            return self.checkpoints[None]
        return f'few-shot on {self.key}: ' + ', '.join(f'{c}: {p}' for c, p in self.checkpoints.items())


def _show(part: dict) -> str:
    return ', '.join(f'{k}={list(v)}' for k, v in part.items())
