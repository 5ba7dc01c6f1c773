"""Pareto fronts of (key, accuracy, cost) points, each notion in one place: dominance,
the front, its 2-D hypervolume and picks spread along a cost axis. Shared by both
searches, their reports, the pipeline and the benchmarks.
"""
from typing import Callable, Dict, Hashable, List, Optional, Sequence, Tuple


def dominates(a: Tuple[float, float], b: Tuple[float, float]) -> bool:
    """Whether (accuracy, cost) ``a`` dominates ``b``: at least as accurate and at most
    as costly, and strictly better in one of the two."""
    return a[0] >= b[0] and a[1] <= b[1] and (a[0] > b[0] or a[1] < b[1])


def pareto_front(points: List[Tuple[str, float, float]]) -> List[Tuple[str, float, float]]:
    """Non-dominated (key, accuracy, cost) points: accuracy up, cost down; by cost.

    A point is dominated when another is at least as accurate and at most as
    costly, and strictly better in one of the two.
    """
    front = [p for p in points if not any(dominates(q[1:3], p[1:3]) for q in points)]
    return sorted(front, key=lambda p: (p[2], -p[1]))


def dominated_by(points: Sequence[Tuple[Hashable, float, float]]) -> Dict[Hashable, List[Hashable]]:
    """key -> keys of the (key, accuracy, cost) points that dominate it."""
    return {p[0]: [q[0] for q in points if q is not p and dominates(q[1:3], p[1:3])] for p in points}


def hypervolume_2d(front: List[Tuple[str, float, float]], ref_cost: float, ref_acc: float = 0.0) -> float:
    """Area dominated by (key, accuracy, cost) points, bounded by the reference point.

    The union of the rectangles ``[cost, ref_cost] x [ref_acc, accuracy]``: sweeping by
    cost, each strip's height is the best accuracy reached at or below its cost.
    """
    pts = sorted((c, a) for _, a, c in front if c < ref_cost and a > ref_acc)
    area, best = 0.0, ref_acc
    for i, (cost, acc) in enumerate(pts):
        best = max(best, acc)
        nxt = pts[i + 1][0] if i + 1 < len(pts) else ref_cost
        area += (nxt - cost) * (best - ref_acc)
    return area


def spread_along(front: List[tuple], k: int = 6) -> List[tuple]:
    """Pick up to ``k`` points evenly spread along a front sorted by cost (one point: the
    costliest, which is the most accurate of a front)."""
    if len(front) <= k:
        return list(front)
    if k <= 1:
        return list(front[-1:]) if k == 1 else []
    idx = sorted({round(i * (len(front) - 1) / (k - 1)) for i in range(k)})
    return [front[i] for i in idx]


def spread_by_cost(items: Sequence, cost: Callable[[object], float], n: int) -> List:
    """Up to ``n`` distinct ``items`` at evenly spaced quantiles of their cost, the
    cheapest and the costliest included; cheapest first.

    Args:
        items: hashable items.
        cost: the cost of an item.
        n: how many to pick.
    """
    priced = sorted(((cost(x), i) for i, x in enumerate(items)))
    picks = []
    for i in range(n):
        x = items[priced[round(i * (len(priced) - 1) / max(n - 1, 1))][1]]
        if x not in picks:
            picks.append(x)
    return picks


def spread_subnets(space, cost: Callable[[str], float], n: int, rng, pool: int = 2000,
                   keep: Optional[Callable[[str], bool]] = None) -> List[str]:
    """``n`` subnets at evenly spaced quantiles of the cost of a seeded sample of ``space``,
    its min and max subnets included (they join the sample, as its cheapest and
    costliest): a set that covers the whole cost range, where uniform draws crowd its middle.

    Args:
        space: a :class:`supernet.space.ModularSpace`.
        cost: a subnet string's cost (e.g. a FLOPs table's ``flops``).
        n: how many.
        rng: the sample's ``random.Random``.
        pool: subnets sampled to pick from.
        keep: only the subnets it accepts are picked (e.g. a cost range); default all.

    Returns:
        Distinct subnet strings, cheapest first.
    """
    cands = list(dict.fromkeys(str(s) for s in [space.min_subnet(), space.max_subnet()] +
                               [space.sample(rng) for _ in range(pool)]))
    cands = sorted(c for c in cands if keep is None or keep(c))
    return spread_by_cost(cands, cost, n) if cands else []


def coarse_to_fine(items: Sequence) -> List:
    """``items`` (sorted by cost) reordered so that every prefix spreads over the whole
    range: the first, the last, the middle, then the quarters, and so on (a budget that
    stops early has still seen both ends).

    Args:
        items: sorted items.

    Returns:
        The same items, each once.
    """
    n = len(items)
    if n <= 2:
        return list(items)
    order, seen, parts = [0, n - 1], {0, n - 1}, 2
    while len(order) < n:
        for k in range(1, parts, 2):
            i = round(k * (n - 1) / parts)
            if i not in seen:
                seen.add(i)
                order.append(i)
        parts *= 2
    return [items[i] for i in order]
