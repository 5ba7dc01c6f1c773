"""The blend of two inherited scores a subnet search can rank by: the mAP and a term of
the val loss (``subnet_search.score='box_blend'``), each weighted by its spread so that
neither swamps the other."""
import statistics
from typing import Dict, List, Optional, Sequence

#: the val loss term that :func:`box_blend_scores` weighs against the mAP
BOX_TERM = 'loss_bbox'


def box_blend_scale(maps: Sequence[float], losses: Sequence[float]) -> float:
    """The weight of the box loss in :func:`box_blend_scores`: the ratio of the two scores'
    standard deviations over ``maps`` and ``losses`` (of the same subnets), so that each
    moves the blend alike over them.

    Args:
        maps: the subnets' inherited mAP.
        losses: their inherited box loss (lower is better).

    Returns:
        ``pstdev(maps) / pstdev(losses)``.

    Raises:
        ValueError: fewer than two subnets, or losses that are all equal (no scale).
    """
    if len(maps) != len(losses) or len(maps) < 2:
        raise ValueError(f'a blend scale needs the mAP and the loss of the same two or more subnets, '
                         f'not {len(maps)} and {len(losses)}')
    sd = statistics.pstdev(losses)
    if not sd > 0:
        raise ValueError(f'the box loss is the same for all {len(losses)} subnets: no scale to weigh it by')
    return statistics.pstdev(maps) / sd


def box_blend_scores(maps: Sequence[float], losses: Sequence[float],
                     scale: Optional[float] = None) -> List[float]:
    """The linear blend of the inherited mAP and the box loss, ``mAP - scale * loss``
    (higher is better), as ``subnet_search.score='box_blend'`` ranks subnets.

    Args:
        maps: the subnets' inherited mAP.
        losses: their inherited box loss.
        scale: the loss's weight; None: :func:`box_blend_scale` over these subnets.

    Returns:
        One blend per subnet.
    """
    if scale is None:
        scale = box_blend_scale(maps, losses)
    return [m - scale * v for m, v in zip(maps, losses)]


def box_losses(inherited: Dict[str, dict], archs: Sequence[str]) -> Optional[List[float]]:
    """Each subnet's inherited box loss (``val_loss_terms[BOX_TERM]``), when every one has it
    and they are not all equal (a blend needs a spread to scale by); None otherwise.

    Args:
        inherited: each subnet's inherited scores.
        archs: the subnets, in the order wanted.

    Returns:
        The losses in the order of ``archs``, or None.
    """
    box = [(inherited[a].get('val_loss_terms') or {}).get(BOX_TERM) for a in archs]
    return None if None in box or len(set(box)) < 2 else box
