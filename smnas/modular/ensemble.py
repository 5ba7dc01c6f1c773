"""Supernet ensembles: one space trained several times apart, each subnet scored by its mean.

A subnet's inherited score carries the noise of its supernet's own training (the random
members drawn, the initial weights, the data order) besides what sets the subnet apart.
Supernets of one recipe trained with different seeds have independent training noise, so
the mean of a subnet's scores over K of them ranks the subnets with less of it, for K
times the supernet training and K times each subnet's scoring (benchmarks/README.md:
``distill_outputs_x2``, ``distill_outputs_x3`` against each seed alone). Each member is a
supernet of the whole space or a few-shot supernet (:class:`~smnas.modular.parts.SupernetParts`).
"""
import math
import statistics
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple, Union

from supernet.space import ModularSpace

from .parts import InvalidParts, SupernetParts

#: a subnet's scores that are averaged over the members (the rest are not scores)
SCORE_KEYS = ('mAP', 'mAP_50', 'mAP_se', 'val_loss')


@dataclass(frozen=True)
class SupernetEnsemble:
    """The supernets that score the subnets of one space: one, or several trained apart.

    Args:
        members: each supernet (its checkpoint, or its few-shot parts' checkpoints).
    """
    members: Tuple[SupernetParts, ...]

    @classmethod
    def from_checkpoints(cls, groups: Sequence[Sequence[str]], space: ModularSpace) -> 'SupernetEnsemble':
        """Read every member's checkpoints and check them against ``space``.

        Args:
            groups: one list of checkpoints per member: its supernet's checkpoint, or
                every part's of a few-shot supernet.
            space: the space searched.

        Returns:
            The ensemble.

        Raises:
            smnas.modular.export.NotASupernetCheckpoint: a checkpoint that is not a
                supernet of ``space``.
            smnas.modular.parts.InvalidParts: a member whose checkpoints do not split the
                space; a checkpoint given twice (it would weigh twice in every mean).
        """
        if not groups:
            raise InvalidParts('no supernet checkpoint given')
        seen: Dict[str, int] = {}
        for i, group in enumerate(groups):
            for path in group:
                if str(path) in seen:
                    raise InvalidParts(f'{path} is given twice (supernets {seen[str(path)] + 1} and '
                                       f'{i + 1}): each supernet of an ensemble is another training')
                seen[str(path)] = i
        return cls(tuple(SupernetParts.from_checkpoints(g, space) for g in groups))

    @property
    def first(self) -> SupernetParts:
        """The first member: the weights its finalists are exported with."""
        return self.members[0]

    @property
    def few_shot(self) -> Union[str, List[str], None]:
        """The choice list the members' parts split the space on (a list when they differ),
        or None when every member is one supernet of the whole space."""
        keys = sorted({m.key for m in self.members if m.key is not None})
        return None if not keys else keys[0] if len(keys) == 1 else keys

    def checkpoints(self) -> Union[str, list]:
        """The checkpoints, as the search's metadata keeps them: one supernet's path, a
        few-shot supernet's paths, or one of those per member."""
        each = [m.paths[0] if m.key is None else m.paths for m in self.members]
        return each[0] if len(each) == 1 else each

    def describe(self) -> str:
        """One line: each member's checkpoint (or parts)."""
        if len(self.members) == 1:
            return self.first.describe()
        return f'ensemble of {len(self.members)}: ' + '; '.join(m.describe() for m in self.members)


def as_checkpoint_groups(checkpoint: Union[str, Sequence[Union[str, Sequence[str]]]]) -> List[List[str]]:
    """The members' checkpoints of :class:`SupernetEnsemble` from the forms a search takes:
    a path (one supernet), a list of paths (one few-shot supernet's parts), or a list of
    those (an ensemble: a path, or a list of parts' paths, per member)."""
    def is_path(c):
        return isinstance(c, str) or hasattr(c, '__fspath__')

    if is_path(checkpoint):
        return [[str(checkpoint)]]
    items = list(checkpoint)
    if all(is_path(c) for c in items):
        return [[str(c) for c in items]]
    return [[str(c)] if is_path(c) else [str(p) for p in c] for c in items]


def mean_score(runs: Sequence[dict]) -> dict:
    """One subnet's scores under several supernets, as one: the mean of each score they
    all have (``mAP``, ``mAP_50``, ``val_loss``, each of ``val_loss_terms``).

    A mean's ``mAP_se`` is the mean of the members' standard errors: every member scores
    the same val images, so their errors from which images were drawn move together, and
    that is the most it can be (independent errors would make it smaller by up to the
    square root of the members).

    Args:
        runs: the subnet's scores under each supernet.

    Returns:
        The mean scores (``mAP_ci95`` and other per-run fields left out).
    """
    def have(run, key, within=None):
        return ((run.get(within) or {}) if within else run).get(key) is not None

    out = {k: statistics.fmean(r[k] for r in runs) for k in SCORE_KEYS if all(have(r, k) for r in runs)}
    terms = [t for t in runs[0].get('val_loss_terms') or {}
             if all(have(r, t, 'val_loss_terms') for r in runs)]
    if terms:
        out['val_loss_terms'] = {t: statistics.fmean(r['val_loss_terms'][t] for r in runs) for t in terms}
    return out


def reliability_of_mean(reliability: float, k: int) -> float:
    """The Spearman-Brown formula: the reliability of a mean of ``k`` scorings, each of
    ``reliability`` (the share of one scoring's spread over subnets that every scoring
    shares) and each with noise of its own, independent of the others'.

    Args:
        reliability: one scoring's, in (0, 1].
        k: scorings averaged.

    Returns:
        The mean's reliability.
    """
    return k * reliability / (1 + (k - 1) * reliability)


def members_agreement(scores: Sequence[Sequence[float]], ks: Sequence[int] = (2, 4, 8)) -> Optional[dict]:
    """How alike an ensemble's supernets rank the subnets they all scored, and what that
    says of the ranking by their mean.

    Two supernets of one recipe share the recipe's own order and differ by the noise of
    their trainings; their correlation over the subnets is then the reliability of one
    supernet's scores (taken from Kendall's tau by Greiner's ``r = sin(pi tau / 2)``,
    averaged over the pairs), and :func:`reliability_of_mean` gives the mean's. The mean
    averages the members' own noise away, not what they share: against training it ranks
    no better than the recipe's own order (``smnas.benchmarks.stats.ensemble_projection``
    projects that where a ground truth exists).

    Args:
        scores: each member's scores of the same subnets, in the same order (2 or more
            members, 3 or more subnets).
        ks: ensemble sizes to project the mean's reliability to.

    Returns:
        None with fewer than 2 members or 3 subnets, or when a member scores every subnet
        alike; else ``members``, ``subnets``, ``kendall_tau`` (the mean over pairs),
        ``reliability`` (of one member), ``mean_reliability`` (of the mean of all of them;
        None when the members share no order) and ``projected`` (``{k: reliability}``).
    """
    from scipy.stats import kendalltau

    if len(scores) < 2 or len(scores[0]) < 3 or any(len(set(s)) < 2 for s in scores):
        return None
    taus = [kendalltau(a, b)[0] for i, a in enumerate(scores) for b in scores[i + 1:]]
    rho = statistics.fmean(math.sin(math.pi * t / 2) for t in taus)
    shared = rho > 0
    return dict(members=len(scores), subnets=len(scores[0]), kendall_tau=statistics.fmean(taus),
                reliability=rho, mean_reliability=reliability_of_mean(rho, len(scores)) if shared else None,
                projected={int(k): reliability_of_mean(rho, k) for k in ks} if shared else {})
