"""Statistics of rank fidelity: rank correlations with bootstrap intervals, a
from-scratch ground truth's agreement with itself, and the pairs it resolves."""
import itertools
import math
import random
import statistics
from typing import Dict, List, Optional, Sequence, Tuple

from ..evaluation.blend import box_blend_scores, box_losses


def linear_fit(xs: Sequence[float], ys: Sequence[float]) -> Tuple[float, float, float]:
    """Least-squares ``y = a + b x``.

    Returns:
        (a, b, r2).
    """
    import numpy as np

    x, y = np.asarray(xs, float), np.asarray(ys, float)
    b, a = np.polyfit(x, y, 1) if len(set(xs)) > 1 else (0.0, float(y.mean()))
    ss = float(((y - y.mean()) ** 2).sum())
    r2 = 1.0 - float(((y - (a + b * x)) ** 2).sum()) / ss if ss > 0 else 1.0
    return float(a), float(b), r2


def kendall_tau_rows(x, y):
    """Kendall tau-b (``scipy.stats.kendalltau``'s statistic) of each row of ``x`` against
    the same row of ``y``, every row at once: the bootstraps and simulations here rank
    thousands of draws, and one scipy call per draw cost most of a record's summary.

    Args:
        x, y: arrays of shape (draws, items), or (items,) for one draw; ``y`` may be one
            row (items,) shared by every row of ``x``.

    Returns:
        An array of shape (draws,): nan where a row of either side ties everywhere.
    """
    import numpy as np

    x, y = np.broadcast_arrays(np.atleast_2d(np.asarray(x, float)), np.atleast_2d(np.asarray(y, float)))
    i, j = np.triu_indices(x.shape[1], 1)
    out = np.empty(x.shape[0])
    step = max(1, 2_000_000 // max(len(i), 1))  # rows per chunk: bounded memory for large spaces
    for s in range(0, x.shape[0], step):
        dx, dy = np.sign(x[s:s + step, i] - x[s:s + step, j]), np.sign(y[s:s + step, i] - y[s:s + step, j])
        # concordant - discordant over sqrt(pairs untied in x * pairs untied in y): tau-b
        with np.errstate(invalid='ignore', divide='ignore'):
            out[s:s + step] = (dx * dy).sum(1) / np.sqrt(np.abs(dx).sum(1) * np.abs(dy).sum(1))
    return out


def spearman_rho_rows(x, y):
    """Spearman rho (``scipy.stats.spearmanr``'s statistic: Pearson's r of the ranks, ties
    given their mean rank) of each row of ``x`` against the same row of ``y``.

    Args:
        x, y: arrays of shape (draws, items).

    Returns:
        An array of shape (draws,): nan where a row of either side ties everywhere.
    """
    import numpy as np
    from scipy.stats import rankdata

    rx, ry = (rankdata(np.atleast_2d(np.asarray(v, float)), axis=1) for v in (x, y))
    rx, ry = rx - rx.mean(1, keepdims=True), ry - ry.mean(1, keepdims=True)
    with np.errstate(invalid='ignore', divide='ignore'):
        return (rx * ry).sum(1) / np.sqrt((rx * rx).sum(1) * (ry * ry).sum(1))


def _draws(n: int, resamples: int, seed: int):
    # the bootstrap's resampled indices, (resamples, n), drawn as they always were (the
    # record's intervals stay the same numbers)
    import numpy as np

    rng = random.Random(seed)
    draws = [[rng.randrange(n) for _ in range(n)] for _ in range(resamples)]
    return np.asarray(draws, int).reshape(resamples, n)


def rank_agreement(x: Sequence[float], y: Sequence[float], resamples: int = 2000,
                   seed: int = 0) -> Dict[str, object]:
    """Kendall tau and Spearman rho between two scorings of the same items, each with a
    95% percentile bootstrap interval over the items (resampled with replacement; draws
    whose scores all tie are left out).

    Args:
        x, y: the two scores of every item, in the same order.
        resamples: bootstrap draws.
        seed: seed of the draws.

    Returns:
        ``kendall_tau``, ``kendall_p``, ``kendall_tau_ci95`` ([low, high]),
        ``spearman_rho``, ``spearman_p``, ``spearman_rho_ci95``.
    """
    from scipy.stats import kendalltau, spearmanr

    import numpy as np

    (tau, tau_p), (rho, rho_p) = kendalltau(x, y), spearmanr(x, y)
    idx = _draws(len(x), resamples, seed)
    bx, by = np.asarray(x, float)[idx], np.asarray(y, float)[idx]
    taus = kendall_tau_rows(bx, by)
    keep = ~np.isnan(taus)  # draws whose scores all tie on either side
    taus, rhos = taus[keep].tolist(), spearman_rho_rows(bx[keep], by[keep]).tolist()
    return dict(kendall_tau=float(tau), kendall_p=float(tau_p), kendall_tau_ci95=_percentiles(taus),
                spearman_rho=float(rho), spearman_p=float(rho_p), spearman_rho_ci95=_percentiles(rhos))


def paired_tau_difference(x: Sequence[float], y: Sequence[float], truth: Sequence[float],
                          resamples: int = 2000, seed: int = 0) -> Dict[str, object]:
    """How much better scores ``x`` rank the items than scores ``y`` do, against the same
    ``truth``: Kendall tau(x, truth) - tau(y, truth), with a 95% percentile bootstrap
    interval from resampling the items once for both (paired: the same subnets in every
    draw), so that what the two share (hard subnets, the truth's noise) cancels.

    Args:
        x, y: two scorings of the same items (e.g. two supernet recipes' inherited mAPs).
        truth: the items' ground truth, in the same order.
        resamples: bootstrap draws.
        seed: seed of the draws.

    Returns:
        ``difference``, ``difference_ci95`` ([low, high]; None if every draw tied) and
        ``beyond_noise``: whether that interval leaves out 0.
    """
    d = pooled_tau_difference([(x, y)], truth, resamples, seed)
    return {k: d[k] for k in ('difference', 'difference_ci95', 'beyond_noise')}


def pooled_tau_difference(pairs: Sequence[Tuple[Sequence[float], Sequence[float]]],
                          truth: Sequence[float], resamples: int = 2000, seed: int = 0) -> Dict[str, object]:
    """:func:`paired_tau_difference` pooled over several scorings of the same items: the
    mean over ``pairs`` of tau(x, truth) - tau(y, truth), every pair resampled on the same
    draws of the items. One supernet's difference between two scores is mostly noise;
    pooled over independently trained supernets, a score that ranks better in each shows
    beyond it, and one that wins in some and loses in others does not.

    Args:
        pairs: ``(x, y)`` per supernet: the two scorings to compare (e.g. one loss term
            negated, and the mAP), each in the order of ``truth``.
        truth: the items' ground truth.
        resamples: bootstrap draws.
        seed: seed of the draws.

    Returns:
        ``difference`` (the mean), ``difference_ci95``, ``beyond_noise``, ``each`` (every
        pair's own difference) and ``pooled`` (how many pairs).
    """
    from scipy.stats import kendalltau

    import numpy as np

    if not pairs:
        raise ValueError('pooled_tau_difference needs at least one pair of scorings')
    idx = _draws(len(truth), resamples, seed)
    bt = np.asarray(truth, float)[idx]
    each, draws = [], np.zeros(resamples)
    for x, y in pairs:
        if not len(x) == len(y) == len(truth):
            raise ValueError(f'every scoring must score the {len(truth)} items of the truth, '
                             f'not {len(x)} and {len(y)}')
        each.append(float(kendalltau(x, truth)[0] - kendalltau(y, truth)[0]))
        # nan (left out) where the draw's truth or either scoring ties everywhere
        draws += (kendall_tau_rows(np.asarray(x, float)[idx], bt)
                  - kendall_tau_rows(np.asarray(y, float)[idx], bt))
    return dict(_difference(statistics.fmean(each), (draws / len(pairs)).tolist()),
                each=each, pooled=len(pairs))


def _difference(observed: float, draws: List[float]) -> Dict[str, object]:
    # a difference with the 95% percentile interval of its paired draws
    ci = _percentiles(draws)
    return dict(difference=observed, difference_ci95=ci, beyond_noise=bool(ci and (ci[0] > 0 or ci[1] < 0)))


def blend_scores(maps: Sequence[float], neg_loss: Sequence[float]) -> List[float]:
    """The blend of the inherited mAP and the negated val loss: the mean of the two ranks
    (higher is better), as :func:`score_agreement` and the rank tables rank by it."""
    from scipy.stats import rankdata

    return list((rankdata(maps) + rankdata(neg_loss)) / 2)


def score_agreement(inh: Dict[str, dict], archs: Sequence[str], truth: Sequence[float],
                    min_arch: Optional[str] = None, truth_se: Optional[float] = None) -> dict:
    """Rank agreement with the truth of each inherited score: the mAP, the val loss
    (negated: lower is better) and their blend (the mean of the two ranks), for the
    subnets that have both; and ``box_blend`` (:func:`box_blend_scores`, the search's
    ``score='box_blend'``) where every one of them has the box loss among its terms.

    Args:
        inh: each subnet's inherited scores (``mAP``, ``val_loss``).
        archs: the subnets, in the order of ``truth``.
        truth: their from-scratch mAP.
        min_arch: the space's min subnet: each score's ``min_subnet`` is its rank error
            (:func:`rank_error`), the bias of a sandwich that trains it at every step.
        truth_se: the standard error of a truth mean: the min subnet's error also relative
            to the ranks the truth cannot tell from its own (:func:`rank_error`'s ``se``).

    Returns:
        ``{score: rank_agreement(...)}`` for ``mAP``, ``val_loss``, ``blend`` (and
        ``box_blend``); all but the mAP with ``tau_minus_mAP`` (:func:`paired_tau_difference`
        against ranking by mAP).
        Empty with fewer than two subnets scored both ways.
    """
    have = [i for i, a in enumerate(archs) if 'val_loss' in inh[a]]
    if len(have) < 2:
        return {}
    maps = [inh[archs[i]]['mAP'] for i in have]
    neg_loss = [-inh[archs[i]]['val_loss'] for i in have]
    scores = [('mAP', maps), ('val_loss', neg_loss), ('blend', blend_scores(maps, neg_loss))]
    box = box_losses(inh, [archs[i] for i in have])
    if box is not None:
        scores.append(('box_blend', box_blend_scores(maps, box)))
    y = [truth[i] for i in have]
    out = {name: rank_agreement(x, y) for name, x in scores}
    # whether ranking by the loss (or a blend) beats ranking by mAP beyond noise
    for name, x in scores[1:]:
        out[name]['tau_minus_mAP'] = paired_tau_difference(x, maps, y)
    if min_arch is not None:
        names = [archs[i] for i in have]
        t = dict(zip(names, y))
        for name, x in scores:
            out[name]['min_subnet'] = rank_error(min_arch, dict(zip(names, map(float, x))), t, truth_se)
    return out


def loss_term_agreement(inh: Dict[str, dict], archs: Sequence[str], truth: Sequence[float]) -> dict:
    """Rank agreement with the truth of each term of the inherited val loss alone (each
    negated: lower is better), over ``archs`` when every one has the term.

    Args:
        inh: each subnet's inherited scores (``mAP``); ``val_loss_terms``: {term: value}.
        archs: the subnets, in the order of ``truth``.
        truth: their from-scratch mAP.

    Returns:
        ``{term: rank_agreement(...)}``, each with ``tau_minus_mAP``
        (:func:`paired_tau_difference` against ranking by the inherited mAP); empty when a
        subnet has no terms.
    """
    terms = [inh[a].get('val_loss_terms') or {} for a in archs]
    if len(archs) < 2 or not all(terms):
        return {}
    common = sorted(set.intersection(*(set(t) for t in terms)))
    maps, y = [inh[a]['mAP'] for a in archs], list(truth)
    out = {}
    for k in common:
        x = [-t[k] for t in terms]
        # one term of several picked after the fact: whether it beats the mAP beyond noise
        out[k] = dict(rank_agreement(x, y), tau_minus_mAP=paired_tau_difference(x, maps, y))
    return out


def interval95(values: Sequence[float]) -> Optional[List[float]]:
    """The 95% percentile interval of ``values`` (draws of a bootstrap or a simulation;
    NaN left out), or None if none is left."""
    return _percentiles(list(values))


def _percentiles(values: List[float]) -> Optional[List[float]]:
    values = sorted(v for v in values if not math.isnan(v))
    if not values:
        return None
    return [values[int(0.025 * (len(values) - 1))], values[int(math.ceil(0.975 * (len(values) - 1)))]]


def rank_error(arch: str, scores: Dict[str, float], truth: Dict[str, float],
               se: Optional[float] = None) -> Optional[dict]:
    """Where ``arch`` ranks (1: best) by ``scores`` and by ``truth`` (both higher-better,
    over the archs both have), and how many places apart.

    A truth rank is itself noisy: where neighbours' means lie within the truth's noise of
    ``arch``'s, any rank among them is as true. With ``se`` the result also says which ranks
    the truth cannot tell from ``arch``'s and how far the score's rank lies outside them.

    Args:
        arch: the subnet (e.g. the space's min subnet).
        scores: each subnet's score (higher is better).
        truth: each subnet's from-scratch mAP (higher is better).
        se: the standard error of one truth mean; pairs differing by more than
            2 * sqrt(2) * ``se`` are resolved (as :func:`resolved_pairs`).

    Returns:
        ``arch``, ``rank_inherited``, ``rank_scratch``, ``error`` (places apart) and ``of``;
        with ``se`` also ``scratch_band`` ([best, worst] rank within the truth's noise) and
        ``error_beyond_noise`` (places from the band; 0 inside it). None if ``arch`` lacks
        a score or a truth.
    """
    common = [a for a in scores if a in truth]
    if arch not in common:
        return None

    def rank(values):
        return 1 + sum(values[b] > values[arch] for b in common)
    by_score, by_truth = rank(scores), rank(truth)
    out = dict(arch=arch, rank_inherited=by_score, rank_scratch=by_truth, error=abs(by_score - by_truth),
               of=len(common))
    if se is not None:
        gap = 2 * math.sqrt(2) * se
        best = 1 + sum(truth[b] - truth[arch] > gap for b in common)
        worst = len(common) - sum(truth[arch] - truth[b] > gap for b in common)
        out.update(scratch_band=[best, worst], error_beyond_noise=max(0, best - by_score, by_score - worst))
    return out


def whole_seeds(seeds: Dict[str, Dict[str, float]]) -> List[str]:
    """The seeds every subnet was trained with, in order.

    A run adds a seed to one subnet at a time; averaging each subnet over only these
    keeps a stopped run's ground truth the mean of the same seeds for every subnet.

    Args:
        seeds: ``{arch: {seed: mAP}}``, seeds as strings.

    Returns:
        The common seed names, sorted as integers.
    """
    common = set.intersection(*(set(m) for m in seeds.values())) if seeds else set()
    return sorted(common, key=int)


def resolved_pairs(truth: Dict[str, float], se: float) -> List[Tuple[str, str]]:
    """The pairs of subnets that the ground truth itself orders beyond its noise.

    Args:
        truth: ``{arch: mean from-scratch mAP}``.
        se: the standard error of one of those means.

    Returns:
        ``(better, worse)`` pairs whose means differ by more than twice the standard
        error of a difference of two means (2 * sqrt(2) * ``se``).
    """
    return [(a, b) if truth[a] > truth[b] else (b, a) for a, b in itertools.combinations(truth, 2)
            if abs(truth[a] - truth[b]) > 2 * math.sqrt(2) * se]


def _multi_seed(seeds: Dict[str, Dict[str, float]], offsets: Optional[Dict[str, float]]) -> List[List[float]]:
    # each subnet of two seeds or more: its trainings' mAPs, the seeds' common offsets taken out
    return [[v - (offsets or {}).get(k, 0.0) for k, v in m.items()] for m in seeds.values() if len(m) > 1]


def pooled_noise(seeds: Dict[str, Dict[str, float]], offsets: Optional[Dict[str, float]] = None) -> float:
    """One training's seed-to-seed variance, pooled over the subnets with two seeds or more.

    Args:
        seeds: ``{arch: {seed: mAP}}``.
        offsets: ``{seed: offset}`` common to every subnet (:func:`seed_offsets`), taken out
            first: what is left is the noise of one subnet against another. Estimated from
            the same subnets, they use up degrees of freedom, which the estimate accounts
            for (``n / (n - 1)`` over ``n`` subnets).

    Returns:
        The variance (nan without a subnet of two seeds).
    """
    multi = _multi_seed(seeds, offsets)
    if not multi:
        return float('nan')
    var = statistics.fmean(statistics.variance(v) for v in multi)
    return var * len(multi) / (len(multi) - 1) if offsets and len(multi) > 1 else var


def seed_agreement(seeds: Dict[str, Dict[str, float]], truth_seeds: List[str],
                   offsets: Optional[Dict[str, float]] = None,
                   noise_of: Optional[Dict[str, Dict[str, float]]] = None) -> dict:
    """How well the from-scratch ground truth reproduces itself across seeds.

    Args:
        seeds: ``{arch: {seed: mAP}}``.
        truth_seeds: the seeds the ground truth averages (see :func:`whole_seeds`).
        offsets: ``{seed: offset}`` common to every subnet (:func:`seed_offsets`): a seed
            that trains every subnet better moves no subnet against another, so it is not
            noise to a ranking, nor to a difference of two subnets' means over the same seeds.
        noise_of: the trainings to estimate the noise from (default ``seeds``; e.g. the truth
            seeds' alone, so that a seed half-way through its subnets changes nothing).

    Returns:
        ``seeds_per_subnet`` (fewest, most); ``pooled_std`` (a subnet's seed-to-seed
        std, pooled over the subnets with two seeds or more, ``offsets`` taken out;
        :func:`pooled_noise`) and ``raw_std`` (the same with them left in); ``se_of_mean``
        (``pooled_std`` over the square root of the number of truth seeds); ``pairs_resolved`` of
        ``pairs``: pairs of subnets whose truth means differ by more than twice the
        standard error of a difference (:func:`resolved_pairs`); ``seed_pair_tau``:
        Kendall tau between the rankings of every subnet by two truth seeds, for every
        pair of them, and their mean: the ceiling of what any supernet can reach against
        a one-seed ground truth. ``seed_tau_so_far``: Kendall tau and Spearman rho
        between the two lowest seeds over the subnets that have both (``subnets`` of
        them): while a seed is still being trained, a ground truth growing over several
        sessions shows its agreement as it goes (equal to ``seed_pair_tau`` once done).
    """
    from scipy.stats import kendalltau, spearmanr

    counts = [len(m) for m in seeds.values()]
    noise_of = seeds if noise_of is None else noise_of
    pooled = math.sqrt(pooled_noise(noise_of, offsets))
    se = pooled / math.sqrt(len(truth_seeds))
    truth = {a: statistics.fmean(m[k] for k in truth_seeds) for a, m in seeds.items()}
    # Whole rankings only: over the few subnets a partial seed has, tau is mostly +-1.
    maps = list(seeds.values())
    pair_tau = {f'{s0}-{s1}': float(kendalltau([m[s0] for m in maps], [m[s1] for m in maps])[0])
                for s0, s1 in itertools.combinations(truth_seeds, 2)}
    out = dict(seeds_per_subnet=[min(counts), max(counts)], pooled_std=pooled,
               raw_std=math.sqrt(pooled_noise(noise_of)), se_of_mean=se,
               pairs=len(truth) * (len(truth) - 1) // 2, pairs_resolved=len(resolved_pairs(truth, se)),
               seed_pair_tau=pair_tau,
               mean_seed_pair_tau=statistics.fmean(pair_tau.values()) if pair_tau else None)
    first = sorted({k for m in seeds.values() for k in m}, key=_seed_key)[:2]
    both = [m for m in seeds.values() if all(k in m for k in first)]
    if len(first) == 2 and len(both) >= 3:
        x, y = [m[first[0]] for m in both], [m[first[1]] for m in both]
        out['seed_tau_so_far'] = dict(seeds=first, subnets=len(both), kendall_tau=float(kendalltau(x, y)[0]),
                                      spearman_rho=float(spearmanr(x, y)[0]))
    return out


def seed_offsets(seeds: Dict[str, Dict[str, float]], truth_seeds: List[str]) -> Optional[dict]:
    """How much of the seed-to-seed noise is common to every subnet: a seed fixes the data
    order (and the draws of initialisation) for all subnets alike, so some seeds may train
    every subnet better. A two-way analysis (subnet + seed, no interaction) over the truth
    seeds: such an offset moves no subnet against another, so a ranking by one seed does
    not see it, while a subnet's seed-to-seed std with it left in (:func:`seed_agreement`'s
    ``raw_std``) counts it as noise.

    Args:
        seeds: ``{arch: {seed: mAP}}``.
        truth_seeds: the seeds every subnet has.

    Returns:
        None with fewer than 2 truth seeds or 3 subnets; else ``offsets`` (each truth seed's
        mean over the subnets minus the grand mean; a seed that only some subnets have so
        far, its mean difference from their truth means), ``offset_std`` (their variance component's
        square root, 0 when the offsets are within noise of none), ``residual_std`` (a
        training's noise once the offsets are taken out: the noise a ranking sees), ``f``
        and ``p`` (the F test of equal offsets) and ``share`` (the offsets' part of one
        training's noise variance).
    """
    import numpy as np
    from scipy.stats import f as f_dist

    k, n = len(truth_seeds), len(seeds)
    if k < 2 or n < 3:
        return None
    m = np.array([[row[s] for s in truth_seeds] for row in seeds.values()], float)
    grand, cols = m.mean(), m.mean(0)
    resid = m - m.mean(1, keepdims=True) - cols + grand
    ms_res = float((resid ** 2).sum()) / ((n - 1) * (k - 1))
    ms_seed = n * float(((cols - grand) ** 2).sum()) / (k - 1)
    offset_var = max((ms_seed - ms_res) / n, 0.0)
    f = ms_seed / ms_res if ms_res > 0 else float('inf')
    offsets = {s: float(c - grand) for s, c in zip(truth_seeds, cols)}
    truth = dict(zip(seeds, m.mean(1)))
    for s in sorted({k for row in seeds.values() for k in row} - set(truth_seeds), key=_seed_key):
        offsets[s] = statistics.fmean(float(row[s] - truth[a]) for a, row in seeds.items() if s in row)
    return dict(offsets=offsets,
                offset_std=math.sqrt(offset_var), residual_std=math.sqrt(ms_res), f=f,
                p=float(f_dist.sf(f, k - 1, (n - 1) * (k - 1))) if ms_res > 0 else 0.0,
                share=offset_var / (offset_var + ms_res) if offset_var + ms_res > 0 else 0.0)


def split_seed_agreement(seeds: Dict[str, Dict[str, float]], truth_seeds: List[str]) -> Optional[dict]:
    """Kendall tau between two truths that share no seed: the subnets ranked by the mean of
    one half of the truth's seeds against the mean of the other half, for every such split.

    With 3 seeds it ranks by 1 seed against by the other 2; with 4, 2 against 2: the
    agreement of a truth of about half the seeds with an independent one, measured rather
    than projected (compare :func:`truth_reliability` with the same ``split``).

    Args:
        seeds: ``{arch: {seed: mAP}}``.
        truth_seeds: the seeds every subnet has (:func:`whole_seeds`).

    Returns:
        None with fewer than 3 truth seeds; else ``sizes`` (seeds on each side), ``splits``
        (``{'0 vs 1+2': tau}``) and ``kendall_tau``, their mean.
    """
    from scipy.stats import kendalltau

    n = len(truth_seeds)
    if n < 3:
        return None
    maps = list(seeds.values())
    splits = {}
    for one, other in seed_splits(truth_seeds):
        x = [statistics.fmean(m[k] for k in one) for m in maps]
        y = [statistics.fmean(m[k] for k in other) for m in maps]
        splits[f'{"+".join(one)} vs {"+".join(other)}'] = float(kendalltau(x, y)[0])
    return dict(sizes=[n // 2, n - n // 2], splits=splits, kendall_tau=statistics.fmean(splits.values()))


def seed_splits(truth_seeds: Sequence[str]) -> List[Tuple[List[str], List[str]]]:
    """Every split of ``truth_seeds`` into two halves that share no seed (the smaller half
    first; with an even count, each split once).

    Args:
        truth_seeds: the seeds every subnet has.

    Returns:
        ``[(one half, the other half), ...]``.
    """
    n = len(truth_seeds)
    half = n // 2
    out = []
    for one in itertools.combinations(truth_seeds, half):
        if half == n - half and truth_seeds[0] not in one:
            continue  # 2 against 2: each split once
        out.append((list(one), [k for k in truth_seeds if k not in one]))
    return out


def _seed_key(seed: str):
    # seeds are stored as strings ('0', '1', ..., '10'): order them as numbers
    return (0, int(seed)) if str(seed).isdigit() else (1, str(seed))


def projected_seed_tau(values: Sequence[float], sigma: float, seeds: int = 1, sims: int = 2000,
                       seed: int = 0) -> float:
    """Expected Kendall tau between two independent from-scratch rankings of subnets whose
    true mAPs are ``values``, when one training's mAP has standard deviation ``sigma``
    and each ranking averages ``seeds`` trainings: what a ground truth of these subnets
    would agree with itself, projected from a pilot's spread and noise.

    Args:
        values: the subnets' true mAPs (e.g. evenly spaced between a pilot's min and max).
        sigma: seed-to-seed standard deviation of one training's mAP.
        seeds: trainings averaged per subnet in each ranking.
        sims: simulated pairs of rankings.
        seed: seed of the simulation.

    Returns:
        The mean tau over the simulations.
    """
    import numpy as np

    v = np.asarray(values, float)
    rng = np.random.default_rng(seed)
    s = sigma / math.sqrt(max(seeds, 1))
    noise = rng.normal(0, s, (sims, 2, v.size))  # the same draws as two per simulation in turn
    return float(np.mean(kendall_tau_rows(v + noise[:, 0], v + noise[:, 1])))


def variance_split(seeds: Dict[str, Dict[str, float]],
                   offsets: Optional[Dict[str, float]] = None) -> Optional[Tuple[float, float, List[float]]]:
    """A one-way random-effects split of the trainings of the subnets that have two seeds
    or more: each training's mAP is the subnet's true mAP plus seed noise.

    Args:
        seeds: ``{arch: {seed: mAP}}``.
        offsets: ``{seed: offset}`` common to every subnet (:func:`seed_offsets`), taken out first.

    Returns:
        None with fewer than 3 such subnets; else ``(true, noise, means)``: the variance of
        the true mAPs between subnets (what the means vary by beyond the noise left in
        them, at least 0), one training's noise variance (:func:`pooled_noise`), and the
        subnets' means.
    """
    multi = _multi_seed(seeds, offsets)
    if len(multi) < 3:
        return None
    noise = pooled_noise(seeds, offsets)
    means = [statistics.fmean(v) for v in multi]
    # the seed noise each mean still holds: noise / n, averaged over subnets of n seeds
    left = statistics.fmean(noise / len(v) for v in multi)
    return max(statistics.variance(means) - left, 0.0), noise, means


def disattenuated_tau_interval(scores: Dict[str, float], seeds: Dict[str, Dict[str, float]],
                               truth_seeds: List[str], offsets: Optional[Dict[str, float]] = None,
                               resamples: int = 2000, seed: int = 0) -> Optional[List[float]]:
    """A 95% percentile bootstrap interval of :func:`disattenuated_tau` against the true
    order, the subnets resampled with replacement and, in each draw, both the ranking's
    tau against the truth and the truth's reliability estimated again: the interval
    carries the uncertainty of the correction as well as of the tau.

    Args:
        scores: ``{arch: score}``, higher ranked better, for the subnets of ``seeds``.
        seeds: ``{arch: {seed: mAP}}``.
        truth_seeds: the seeds the truth averages.
        offsets: the seeds' common offsets (:func:`seed_offsets`), as the reliability used.
        resamples: bootstrap draws.
        seed: seed of the draws.

    Returns:
        ``[low, high]``, or None when fewer than 100 draws gave a tau and a reliability.
    """
    archs = [a for a in scores if a in seeds]
    rng = random.Random(seed)
    k = len(truth_seeds)
    picks = [[rng.choice(archs) for _ in archs] for _ in range(resamples)]
    truth = {a: statistics.fmean(seeds[a][s] for s in truth_seeds) for a in archs}
    taus = kendall_tau_rows([[scores[a] for a in p] for p in picks], [[truth[a] for a in p] for p in picks])
    out = []
    for pick, tau in zip(picks, taus):
        parts = variance_split({i: seeds[a] for i, a in enumerate(pick)}, offsets)
        if tau != tau or parts is None or parts[0] <= 0:
            continue  # all ties, or no spread left beyond the noise: no reliability to correct by
        true, noise, _ = parts
        out.append(disattenuated_tau(float(tau), true / (true + noise / k)))
    return _percentiles(out) if len(out) >= 100 else None


def truth_reliability(seeds: Dict[str, Dict[str, float]], ks: Sequence[int] = (1, 2, 3, 4, 6, 8),
                      target: float = 0.8, sims: int = 2000, seed: int = 0,
                      split: Optional[Sequence[int]] = None,
                      offsets: Optional[Dict[str, float]] = None) -> Optional[dict]:
    """How far averaging more seeds can take a from-scratch ground truth, projected from
    the subnets measured so far rather than from an even spread between the extremes.

    A one-way random-effects split of the subnets that have two seeds or more: each
    training's mAP is the subnet's true mAP plus seed noise. The noise variance is the
    pooled within-subnet variance; the true mAPs' variance is what the subnet means vary by
    beyond the noise left in them. The projection keeps the measured shape of the space
    (clusters of subnets that training cannot tell apart stay clusters) by shrinking the
    measured means toward their mean until their variance is the true one, then simulates
    rankings by means of ``k`` seeds.

    Args:
        seeds: ``{arch: {seed: mAP}}``.
        ks: the numbers of seeds per subnet to project.
        target: the seed-vs-seed tau asked for; ``seeds_for_target`` is the first ``k``
            of ``ks`` whose projection reaches it.
        sims: simulated pairs of rankings per ``k``.
        seed: seed of the simulation.
        split: ``(a, b)``: also project the tau between a ranking by ``a`` seeds and one
            by ``b`` others (``projected_split``), what :func:`split_seed_agreement`
            measures: a check of the projection on the seeds at hand.
        offsets: ``{seed: offset}`` common to every subnet (:func:`seed_offsets`), taken
            out of the noise first: they move no subnet against another.

    Returns:
        None with fewer than 3 subnets of 2 seeds or more; else ``subnets``, ``noise_std``
        (one training), ``true_std`` (between subnets), ``icc`` (the share of one
        training's variance that is the subnet's: true / (true + noise)), ``projected``
        ``{k: {'seed_vs_seed': tau between two independent k-seed rankings,
        'vs_true': tau of one k-seed ranking against the true order}}`` (keys as strings),
        and ``seeds_for_target``.
    """
    import numpy as np

    shape = _true_values(seeds, offsets)
    if shape is None:
        return None
    _, values, true, noise = shape
    rng = np.random.default_rng(seed)
    projected = {}
    for k in ks:
        # two rankings per simulation, each of k-seed means (the same draws as in turn)
        a, b = (values + rng.normal(0, math.sqrt(noise / k), (sims, 2, values.size))).transpose(1, 0, 2)
        projected[str(k)] = dict(
            seed_vs_seed=_mean_tau(kendall_tau_rows(a, b)),
            # no spread between subnets: there is no true order for a ranking to find
            vs_true=_mean_tau(kendall_tau_rows(a, values)) if true > 0 else 0.0)
    reach = [k for k in ks if projected[str(k)]['seed_vs_seed'] >= target]
    out = dict(subnets=len(values), noise_std=math.sqrt(noise), true_std=math.sqrt(true),
               icc=true / (true + noise) if true + noise > 0 else float('nan'), projected=projected,
               target=target, seeds_for_target=reach[0] if reach else None)
    if split:
        # an a-seed and a b-seed ranking per simulation: standard draws scaled by each noise
        # (what normal(0, scale) draws in turn)
        z = rng.standard_normal((sims, 2, values.size))
        sa, sb = (math.sqrt(noise / k) for k in split)
        taus = kendall_tau_rows(values + sa * z[:, 0], values + sb * z[:, 1])
        out['projected_split'] = dict(sizes=list(split), seed_vs_seed=_mean_tau(taus))
    return out


def _true_values(seeds: Dict[str, Dict[str, float]], offsets: Optional[Dict[str, float]] = None):
    """(archs, true values, true variance, noise variance) of the subnets with two seeds or
    more, for projections: the measured means shrunk toward their mean until they vary as
    much as the true mAPs do (the space's measured shape kept); None as :func:`variance_split`."""
    import numpy as np

    parts = variance_split(seeds, offsets)
    if parts is None:
        return None
    true, noise, means = parts
    archs = [a for a, m in seeds.items() if len(m) > 1]  # variance_split's subnets, in its order
    means = np.asarray(means)
    observed = float(means.var(ddof=1))
    values = means.mean() + (means - means.mean()) * (math.sqrt(true / observed) if observed > 0 else 0.0)
    return archs, values, true, noise


def choice_reliability(seeds: Dict[str, Dict[str, float]], choices: Dict[str, Dict[str, object]],
                       ks: Sequence[int] = (1, 2, 3, 5, 7, 10, 20, 40), sims: int = 2000, seed: int = 0,
                       offsets: Optional[Dict[str, float]] = None) -> Optional[dict]:
    """:func:`truth_reliability`'s projection over the pairs of subnets that share a choice's
    value only (two subnets of one head width...): how many seeds a truth must average to
    order them, where a space's large choices (the head width) decide most pairs across values
    and leave the close ones within.

    Args:
        seeds: ``{arch: {seed: mAP}}``.
        choices: choice name -> {subnet: its value} (:func:`choice_effects`'s).
        ks: the numbers of seeds per subnet to project.
        sims: simulated pairs of rankings per ``k``.
        seed: seed of the simulation.
        offsets: ``{seed: offset}`` common to every subnet, taken out of the noise first.

    Returns:
        None as :func:`truth_reliability`; else choice -> ``pairs`` (within its values) and
        ``projected`` ``{k: {'seed_vs_seed', 'vs_true'}}``: the mean concordance
        ((concordant - discordant) / pairs, as ``choice_effects``' ``within``) of two
        independent k-seed truths, and of one against the true order (an oracle's there);
        choices without such pairs are left out.
    """
    import numpy as np

    shape = _true_values(seeds, offsets)
    if shape is None:
        return None
    archs, values, true, noise = shape
    rng = np.random.default_rng(seed)
    out = {}
    for name, of in choices.items():
        pairs = [(i, j) for i, j in itertools.combinations(range(len(archs)), 2)
                 if archs[i] in of and archs[j] in of and of[archs[i]] == of[archs[j]]]
        if not pairs:
            continue
        i, j = (np.array(v) for v in zip(*pairs))
        projected = {}
        for k in ks:
            a, b = values + rng.normal(0, math.sqrt(noise / k), (2, sims, values.size))
            projected[str(k)] = dict(seed_vs_seed=_pair_concordance(a, b, i, j),
                                     vs_true=_pair_concordance(a, values, i, j) if true > 0 else 0.0)
        out[name] = dict(pairs=len(pairs), projected=projected)
    return out


def _pair_concordance(x, y, i, j) -> float:
    # (concordant - discordant) / pairs over the pairs (i[n], j[n]), averaged over x's rows
    import numpy as np

    return float((np.sign(x[..., i] - x[..., j]) * np.sign(y[..., i] - y[..., j])).mean())


def mean_reliability(reliability: dict, seeds: int) -> float:
    """The share of the variance of a k-seed mean across subnets that is the subnets' own:
    ``true / (true + noise / seeds)``, from :func:`truth_reliability`'s ``true_std`` and
    ``noise_std``.

    Args:
        reliability: :func:`truth_reliability`'s result.
        seeds: trainings averaged per subnet.

    Returns:
        The reliability in [0, 1] (1 without seed noise; 0 without spread between subnets).
    """
    true, noise = reliability['true_std'] ** 2, reliability['noise_std'] ** 2 / max(seeds, 1)
    return true / (true + noise) if true + noise > 0 else 1.0


def disattenuated_tau(tau: float, reliability: float, to_reliability: float = 1.0) -> float:
    """A ranking's Kendall tau against a noisy ground truth, projected to a truth of another
    reliability (1: the true order, what infinitely many seeds would average to).

    A truth's seed noise is independent of a supernet's errors, so it scales the ranking's
    correlation with the truth by ``sqrt(reliability)`` (Spearman's correction for
    attenuation); tau and the correlation ``r`` are related by Greiner's
    ``tau = (2 / pi) arcsin(r)``, exact for normal scores and close for the spreads of
    subnets' mAPs (:func:`attenuation_check` measures how close on the truth itself). The
    reliability is estimated, not known: the projection carries that error too.

    Args:
        tau: the tau measured against the truth.
        reliability: the truth's :func:`mean_reliability`.
        to_reliability: that of the truth to project to; 1.0 for the true order.

    Returns:
        The projected tau; a tau beyond what the truth's noise lets any ranking reach
        projects to 1 against the true order.
    """
    r = math.sin(math.pi * tau / 2)
    r_true = max(-1.0, min(1.0, r / math.sqrt(reliability))) if reliability > 0 else 0.0
    return 2 / math.pi * math.asin(r_true * math.sqrt(to_reliability))


def ensemble_projection(members: Sequence[Dict[str, float]], truth: Dict[str, float],
                        ks: Sequence[int] = (1, 2, 3, 5, 10), resamples: int = 2000,
                        seed: int = 0) -> Optional[dict]:
    """How a ranking by the mean score of K supernets of one recipe (K seeds) would agree
    with the truth, projected from the few trained.

    Each supernet's score is taken as the recipe's own order plus seed noise that is
    independent between supernets (classical test theory, as :func:`disattenuated_tau`
    takes the truth): two supernets' correlation is then the reliability of one, the
    Spearman-Brown formula gives that of a mean of K, and a mean's correlation with the
    truth is that of the recipe's own order times the square root of its reliability.
    Correlations come from taus by Greiner's ``r = sin(pi tau / 2)``, each averaged over
    the members (or their pairs) before the projection. The ``limit`` (K to infinity) is
    what no number of seeds of this recipe can beat against this truth: the recipe's bias,
    not its seed noise.

    Args:
        members: each supernet's ``{arch: score}`` (higher ranked better), two or more.
        truth: ``{arch: mAP}`` trained from scratch.
        ks: supernet counts to project to.
        resamples: bootstrap draws of the subnets for the limit's interval.
        seed: seed of the draws.

    Returns:
        None with fewer than 2 members or 3 common subnets, or when the members share no
        order (their mean correlation at or below 0); else ``members``, ``subnets``,
        ``member_tau`` (the mean of each member's tau against the truth), ``member_tau_sd``
        (their sample standard deviation: how far one supernet's seed moves it), ``members_tau``
        (the mean over pairs of members), ``reliability`` (of one member's ranking),
        ``projected`` (``{K: tau}``), ``limit`` and ``limit_ci95`` (the subnets resampled,
        every tau estimated again in each draw).
    """
    import numpy as np

    archs = [a for a in truth if all(a in m for m in members)]
    if len(members) < 2 or len(archs) < 3:
        return None
    x = np.array([[m[a] for a in archs] for m in members], float)
    t = np.array([truth[a] for a in archs], float)
    pairs = list(itertools.combinations(range(len(members)), 2))

    def project(idx):
        """Per draw of subnets (rows of ``idx``): the reliability of one member, and the
        correlation of the recipe's own order with the truth (nan where the members share
        no order, or a draw ties everywhere)."""
        r_t = np.mean([np.sin(np.pi / 2 * kendall_tau_rows(m[idx], t[idx])) for m in x], axis=0)
        rho = np.mean([np.sin(np.pi / 2 * kendall_tau_rows(x[i][idx], x[j][idx])) for i, j in pairs], axis=0)
        with np.errstate(invalid='ignore', divide='ignore'):
            own = np.where(rho > 0, np.clip(r_t / np.sqrt(np.where(rho > 0, rho, 1.0)), -1.0, 1.0), np.nan)
        return rho, own

    def tau_of(r: float) -> float:
        return 2 / math.pi * math.asin(r)

    from ..modular.ensemble import reliability_of_mean

    rho, r_own = (float(v[0]) for v in project(np.arange(len(archs))[None]))
    if r_own != r_own:
        return None
    projected = {int(k): tau_of(r_own * math.sqrt(reliability_of_mean(rho, k))) for k in ks}
    limits = [tau_of(float(r)) for r in project(_draws(len(archs), resamples, seed))[1] if r == r]
    each = [float(v) for v in kendall_tau_rows(x, t)]
    return dict(members=len(members), subnets=len(archs), member_tau=statistics.fmean(each),
                member_tau_sd=statistics.stdev(each),
                members_tau=statistics.fmean(float(kendall_tau_rows(x[i], x[j])[0]) for i, j in pairs),
                reliability=rho, projected=projected, limit=tau_of(r_own), limit_ci95=_percentiles(limits))


def members_subsets(members: Dict[str, Dict[str, float]], truth: Dict[str, float],
                    resamples: int = 2000, seed: int = 0) -> Optional[Dict[int, List[dict]]]:
    """The ranking by the mean score of every subset of a recipe's supernets, measured: how a
    mean of K of them ranks, over every way to pick K of those trained (what
    :func:`ensemble_projection` projects from a model, here counted; the subsets of one size
    share members, so their spread understates that of independent draws).

    Args:
        members: ``{supernet: {arch: score}}`` (higher ranked better), two or more.
        truth: ``{arch: mAP}`` trained from scratch.
        resamples: bootstrap draws of the subnets for each subset's interval.
        seed: seed of the draws (the same for every subset: their intervals are paired).

    Returns:
        None with fewer than 2 members or 3 common subnets; else ``{K: [{'members': names,
        'kendall_tau': tau, 'kendall_tau_ci95': [low, high]}, ...]}`` for K = 1 to the number
        of members, the subsets in the members' order.
    """
    names = list(members)
    archs = [a for a in truth if all(a in members[n] for n in names)]
    if len(names) < 2 or len(archs) < 3:
        return None
    t = [truth[a] for a in archs]
    out: Dict[int, List[dict]] = {}
    for k in range(1, len(names) + 1):
        out[k] = []
        for subset in itertools.combinations(names, k):
            mean = [statistics.fmean(members[n][a] for n in subset) for a in archs]
            r = rank_agreement(mean, t, resamples, seed)
            out[k].append(dict(members=list(subset), kendall_tau=r['kendall_tau'],
                               kendall_tau_ci95=r['kendall_tau_ci95']))
    return out


def subset_taus(subsets: Dict[object, List[dict]]) -> Dict[int, List[float]]:
    """The measured taus of :func:`members_subsets` by K, for a summary of each K.

    Args:
        subsets: what :func:`members_subsets` returns, its K as ints or (from JSON) strings.

    Returns:
        ``{K: [tau, ...]}`` in increasing K; a mean that ties on every subnet has no tau
        (nan) and is left out, so a K may have fewer taus than subsets.
    """
    return {int(k): [s['kendall_tau'] for s in each if s['kendall_tau'] == s['kendall_tau']]
            for k, each in sorted(subsets.items(), key=lambda kv: int(kv[0]))}


def attenuation_check(seeds: Dict[str, Dict[str, float]], truth_seeds: List[str],
                      reliability: dict) -> Optional[dict]:
    """:func:`disattenuated_tau` checked on the truth itself: each seed's ranking is a
    ranking with errors of its own; its tau against the mean of the other seeds, projected
    to a truth of one seed, is set beside its measured tau against each other seed.

    Args:
        seeds: ``{arch: {seed: mAP}}``.
        truth_seeds: the seeds every subnet has (3 or more).
        reliability: :func:`truth_reliability` of ``seeds``.

    Returns:
        None with fewer than 3 truth seeds; else ``per_seed`` (``{seed: {'against_rest':
        tau, 'projected': its projection to one seed, 'measured': mean tau against each
        other seed}}``) and the means ``projected`` and ``measured``.
    """
    if len(truth_seeds) < 3:
        return None
    one, rest = mean_reliability(reliability, 1), mean_reliability(reliability, len(truth_seeds) - 1)
    per_seed = {}
    for s in truth_seeds:
        against, measured = _seed_against_others(seeds, s, [k for k in truth_seeds if k != s])
        per_seed[s] = dict(against_rest=against, projected=disattenuated_tau(against, rest, one),
                           measured=measured)
    return dict(per_seed=per_seed, projected=statistics.fmean(v['projected'] for v in per_seed.values()),
                measured=statistics.fmean(v['measured'] for v in per_seed.values()))


def held_out_seed_check(seeds: Dict[str, Dict[str, float]], truth_seeds: List[str],
                        sims: int = 2000, seed: int = 0) -> Optional[dict]:
    """The noise model checked on a seed it was not fitted on: :func:`truth_reliability`
    and :func:`seed_offsets` fitted on every truth seed but the last, and their projections
    of the last seed's agreement set beside what it measures (out of sample, unlike
    :func:`attenuation_check`, whose seeds also fit the model).

    Args:
        seeds: ``{arch: {seed: mAP}}``.
        truth_seeds: the seeds every subnet has (4 or more: 3 to fit, 1 to test).
        sims: simulated pairs of rankings per projection.
        seed: seed of the simulation.

    Returns:
        None with fewer than 4 truth seeds; else ``held_out`` (the seed), ``fit_seeds``,
        ``projected`` and ``measured``, each ``{'vs_one': tau against one other seed (the
        mean over the fit seeds), 'vs_rest': tau against the mean of the fit seeds}``.
    """
    if len(truth_seeds) < 4:
        return None
    held, fit = truth_seeds[-1], list(truth_seeds[:-1])
    fitted = {a: {k: m[k] for k in fit} for a, m in seeds.items()}
    offsets = seed_offsets(fitted, fit)
    rel = truth_reliability(fitted, ks=(1,), sims=sims, seed=seed, split=(1, len(fit)),
                            offsets=offsets['offsets'] if offsets else None)
    if rel is None:
        return None
    vs_rest, vs_one = _seed_against_others(seeds, held, fit)
    return dict(held_out=held, fit_seeds=fit,
                projected=dict(vs_one=rel['projected']['1']['seed_vs_seed'],
                               vs_rest=rel['projected_split']['seed_vs_seed']),
                measured=dict(vs_one=vs_one, vs_rest=vs_rest))


def _seed_against_others(seeds: Dict[str, Dict[str, float]], seed: str,
                         others: List[str]) -> Tuple[float, float]:
    # one seed's ranking of the subnets: its tau against the mean of the others, and its mean
    # tau against each of them
    from scipy.stats import kendalltau

    maps = list(seeds.values())
    x = [m[seed] for m in maps]
    against = float(kendalltau(x, [statistics.fmean(m[k] for k in others) for m in maps])[0])
    return against, statistics.fmean(float(kendalltau(x, [m[k] for m in maps])[0]) for k in others)


def _mean_tau(taus: List[float]) -> float:
    # kendalltau is nan when one side ties everywhere (no spread, no noise): count it as 1
    return float(statistics.fmean(1.0 if math.isnan(t) else t for t in taus))


def choice_effects(choices: Dict[str, Dict[str, object]], scores: Dict[str, float],
                   truth: Dict[str, float],
                   resolved: Optional[Sequence[Tuple[str, str]]] = None) -> Dict[str, dict]:
    """Which of the space's choices a ranking gets right: for each choice (head width, neck
    width, base...), the mean score and mean truth of each of its values, and Kendall's
    concordance split into the pairs of subnets that share the choice's value and those
    that do not. A supernet that ranks head widths right but nothing within a head width
    shows a high ``across`` and a ``within`` near 0.

    Args:
        choices: choice name -> {subnet: its value of that choice}.
        scores: each subnet's score (higher is better).
        truth: each subnet's from-scratch mAP (higher is better).
        resolved: the pairs the truth orders beyond its noise, each (better, worse)
            (:func:`resolved_pairs`); with them ``within`` and ``across`` also count
            ``resolved`` pairs and ``resolved_agreed`` (those the score orders alike).

    Returns:
        choice -> ``values`` ({value: n, score_mean, truth_mean, and within the value's
        subnets ``tau`` (their pairs' concordance; None below 2 subnets) and the spread
        (max - min) of their scores and truths, ``score_spread`` / ``truth_spread``}, values
        in sorted order): where the within-value pairs go wrong, and whether the score
        separates the subnets the truth separates there; ``tau_of_means`` (Kendall tau between
        the values' mean scores and mean truths; None with fewer than 2 values), and
        ``within`` / ``across``: ``pairs`` and ``tau`` ((concordant - discordant) / pairs;
        None without pairs). Subnets missing from ``scores`` or ``truth`` are left out;
        choices with one value are left out.
    """
    from scipy.stats import kendalltau

    out = {}
    for name, of in choices.items():
        archs = [a for a in of if a in scores and a in truth]
        values = sorted({of[a] for a in archs})
        if len(values) < 2:
            continue
        per = {v: [a for a in archs if of[a] == v] for v in values}
        means = {v: dict(n=len(g), score_mean=statistics.fmean(scores[a] for a in g),
                         truth_mean=statistics.fmean(truth[a] for a in g), tau=_concordance(g, scores, truth),
                         score_spread=_spread(scores[a] for a in g),
                         truth_spread=_spread(truth[a] for a in g))
                 for v, g in per.items()}
        split = {'within': [0, 0], 'across': [0, 0]}  # [pairs, concordant - discordant]
        for a, b in itertools.combinations(archs, 2):
            s = split['within' if of[a] == of[b] else 'across']
            s[0] += 1
            s[1] += _sign(scores[a] - scores[b]) * _sign(truth[a] - truth[b])
        tau = kendalltau([means[v]['score_mean'] for v in values],
                         [means[v]['truth_mean'] for v in values])[0]
        out[name] = dict(values={str(v): m for v, m in means.items()},
                         tau_of_means=None if math.isnan(tau) else float(tau),
                         **{k: dict(pairs=p, tau=c / p if p else None) for k, (p, c) in split.items()})
        if resolved is not None:
            pairs = [(a, b) for a, b in resolved if a in of and b in of and a in scores and b in scores]
            for k, same in (('within', True), ('across', False)):
                mine = [(a, b) for a, b in pairs if (of[a] == of[b]) == same]
                out[name][k].update(resolved=len(mine), resolved_agreed=sum(scores[a] > scores[b]
                                                                              for a, b in mine))
    return out


def seed_choice_effects(choices: Dict[str, Dict[str, object]], seeds: Dict[str, Dict[str, float]],
                        truth_seeds: Sequence[str], split: bool = False) -> Optional[dict]:
    """:func:`choice_effects` of the truth against itself, seed against seed, averaged over
    every pair of seeds: the ceiling of a recipe's ``choice_effects``. With 3 seeds one pair
    alone would make the ceiling depend on which two were picked.

    Args:
        choices: choice name -> {subnet: its value of that choice}.
        seeds: subnet -> {seed: its from-scratch mAP}.
        truth_seeds: the seeds every subnet has (:func:`whole_seeds`).
        split: compare the means of two halves of the seeds that share none
            (:func:`seed_splits`, as :func:`split_seed_agreement`), averaged over every such
            split, instead of one seed with another: how far two truths of about half the
            seeds agree on each choice, where one seed against another says little.

    Returns:
        choice -> ``values`` ({value: n, truth_mean over every seed, ``tau`` within the
        value's subnets: the mean over the seed pairs}), and ``tau_of_means``,
        ``within`` and ``across`` ({pairs, tau}) each the mean over the seed pairs (None where
        no pair has one), plus ``seed_pairs`` (how many pairs, or splits); None with fewer
        than 2 seeds (3 with ``split``).
    """
    if len(truth_seeds) < (3 if split else 2):
        return None
    sides = (seed_splits(truth_seeds) if split
             else [([a], [b]) for a, b in itertools.combinations(truth_seeds, 2)])

    def mean_of(side):
        return {a: statistics.fmean(m[s] for s in side) for a, m in seeds.items()}
    per_pair = [choice_effects(choices, mean_of(one), mean_of(other)) for one, other in sides]

    def mean(values):
        values = [v for v in values if v is not None]
        return statistics.fmean(values) if values else None

    out = {}
    for name, first in per_pair[0].items():
        pairs = [p[name] for p in per_pair]
        values = {}
        for v, m in first['values'].items():
            of = [a for a, x in choices[name].items() if str(x) == v and a in seeds]
            values[v] = dict(n=m['n'], truth_mean=statistics.fmean(
                statistics.fmean(seeds[a][s] for s in truth_seeds) for a in of),
                tau=mean(p[name]['values'][v]['tau'] for p in per_pair))
        out[name] = dict(values=values, tau_of_means=mean(p['tau_of_means'] for p in pairs),
                         seed_pairs=len(pairs),
                         **{k: dict(pairs=first[k]['pairs'], tau=mean(p[k]['tau'] for p in pairs))
                            for k in ('within', 'across')})
    return out


def dominant_choice(choices: Dict[str, Dict[str, object]], truth: Dict[str, float]) -> Optional[str]:
    """The choice whose values explain the largest share of the truth's variance, adjusted
    for how many values it has (1 - the within-values variance over the total, each over
    its degrees of freedom: a choice of many values explains much by chance alone): the
    choice that orders most of the space, within whose values the rest of the order has
    to be found.

    Args:
        choices: choice name -> {subnet: its value of that choice}.
        truth: each subnet's from-scratch mAP.

    Returns:
        The choice's name; None when no choice has two values or the truth does not vary.
    """
    best, share = None, 0.0
    archs = list(truth)
    grand = statistics.fmean(truth[a] for a in archs) if archs else 0.0
    total = sum((truth[a] - grand) ** 2 for a in archs)
    for name, of in choices.items():
        mine = [a for a in archs if a in of]
        values = {of[a] for a in mine}
        if len(values) < 2 or total <= 0 or len(mine) <= len(values):
            continue
        groups = [[truth[a] for a in mine if of[a] == v] for v in values]
        within = sum(sum((x - statistics.fmean(g)) ** 2 for x in g) for g in groups)
        explained = 1 - (within / (len(mine) - len(values))) / (total / (len(archs) - 1))
        if explained > share:
            best, share = name, explained
    return best


def _stratum_centred(of: Dict[str, object], values: Dict[str, float]) -> Dict[str, float]:
    """Each subnet's value minus the mean of the subnets that share its value of ``of``."""
    means = {v: statistics.fmean(values[a] for a in values if of[a] == v) for v in {of[a] for a in values}}
    return {a: x - means[of[a]] for a, x in values.items()}


def stratified_effects(choices: Dict[str, Dict[str, object]], seeds: Dict[str, Dict[str, float]],
                       truth_seeds: Sequence[str], given: str,
                       scores: Optional[Dict[str, float]] = None) -> Optional[dict]:
    """Each choice's effect within one value of ``given``: for every other choice and each
    of its values, the mean over the value's subnets of a subnet's mAP minus the mean of the
    subnets that share its ``given`` value (its head width, say). Where ``given`` orders
    most of the space (:func:`dominant_choice`), this is the order left to find within it,
    and whether a ranking sees it: ``choice_effects`` says how often a ranking orders the
    pairs within a head width alike, this says which choice it misjudges there and by how
    much. The truth's effects are taken seed by seed (a seed's offset common to every subnet
    cancels) and carry their standard error over the seeds.

    Args:
        choices: choice name -> {subnet: its value of that choice}.
        seeds: subnet -> {seed: its from-scratch mAP}.
        truth_seeds: the seeds every subnet has (:func:`whole_seeds`); two or more.
        given: the choice to stratify by (a key of ``choices``).
        scores: a ranking's score of each subnet (higher is better); its effects are
            computed alike on the subnets it scores.

    Returns:
        ``given`` and ``choices``: choice -> ``values`` ({value: n, ``truth`` (the mean over
        the seeds), ``truth_se`` (their standard deviation over sqrt(seeds)) and ``score``
        with ``scores``}, in sorted order) and, with ``scores``, ``tau_of_effects`` (Kendall
        tau of the values' score effects against their truth effects; None below 2 values
        or where either side ties throughout). None with fewer than 2 seeds or without
        ``given`` among ``choices``.
    """
    from scipy.stats import kendalltau

    if len(truth_seeds) < 2 or given not in choices:
        return None
    strata = choices[given]
    archs = [a for a in seeds if a in strata and (scores is None or a in scores)]
    per_seed = [_stratum_centred(strata, {a: seeds[a][s] for a in archs}) for s in truth_seeds]
    scored = _stratum_centred(strata, {a: scores[a] for a in archs}) if scores is not None else None
    out = {}
    for name, of in choices.items():
        values = sorted({of[a] for a in archs if a in of})
        if name == given or len(values) < 2:
            continue
        effects = {}
        for v in values:
            mine = [a for a in archs if of.get(a) == v]
            each = [statistics.fmean(c[a] for a in mine) for c in per_seed]
            effects[str(v)] = dict(n=len(mine), truth=statistics.fmean(each),
                                   truth_se=statistics.stdev(each) / math.sqrt(len(each)))
            if scored is not None:
                effects[str(v)]['score'] = statistics.fmean(scored[a] for a in mine)
        out[name] = dict(values=effects)
        if scored is not None:
            both = list(effects.values())
            tau = kendalltau([e['score'] for e in both], [e['truth'] for e in both])[0]
            out[name]['tau_of_effects'] = None if math.isnan(tau) else float(tau)
    return dict(given=given, choices=out)


def _sign(x: float) -> int:
    return (x > 0) - (x < 0)


def _concordance(archs: Sequence[str], scores: Dict[str, float], truth: Dict[str, float]) -> Optional[float]:
    """(concordant - discordant) / pairs of ``archs`` by ``scores`` against ``truth``; None
    below 2 subnets."""
    pairs = list(itertools.combinations(archs, 2))
    if not pairs:
        return None
    return sum(_sign(scores[a] - scores[b]) * _sign(truth[a] - truth[b]) for a, b in pairs) / len(pairs)


def _spread(values) -> float:
    values = list(values)
    return max(values) - min(values)


def _front_hypervolume(archs: Sequence[str], truth: Dict[str, float], cost: Dict[str, float],
                       ref: Tuple[float, float]) -> float:
    """The 2-D hypervolume of ``archs`` at their true accuracy and their cost."""
    from smnas.search.pareto import hypervolume_2d

    return hypervolume_2d([(a, truth[a], cost[a]) for a in archs], ref_cost=ref[1], ref_acc=ref[0])


def _score_front(scores: Dict[str, float], cost: Dict[str, float]) -> List[tuple]:
    """The (arch, score, cost) points a search keeps by ``scores`` against ``cost``: its
    Pareto front, by cost."""
    from smnas.search.pareto import pareto_front

    return pareto_front([(a, scores[a], cost[a]) for a in scores])


def front_recovery(scores: Dict[str, float], truth: Dict[str, float], cost: Dict[str, float],
                   finalists: int = 6) -> dict:
    """How much of the true accuracy-cost front the finalists a ranking leads to recover:
    what the modular stage retrains, where Kendall tau weighs every pair alike.

    The finalists are picked as the search picks them (``smnas.modular.finalists``: up to
    ``finalists`` spread by cost along the front of the scores against ``cost``) and valued
    at their true accuracy: their hypervolume over that of the whole true front (1: they hold
    every true trade-off), with the reference point at the worst true accuracy and 1.1x the
    highest cost. Few finalists cannot cover a long front: compare rankings at one
    ``finalists``, and against :func:`front_recovery_references`.

    Args:
        scores: ``{arch: score}``, higher better.
        truth: ``{arch: true accuracy}`` (at least every arch of ``scores``).
        cost: ``{arch: cost}`` (e.g. GFLOPs), lower better.
        finalists: how many the search keeps.

    Returns:
        ``hv_ratio``; ``finalists`` and ``true_front`` (subnets, by cost); ``on_true_front``
        (how many finalists are on the true front).
    """
    from smnas.search.pareto import spread_along

    archs = [a for a in scores if a in truth and a in cost]
    ref = (min(truth[a] for a in archs), 1.1 * max(cost[a] for a in archs))
    picked = [p[0] for p in spread_along(_score_front({a: scores[a] for a in archs}, cost), finalists)]
    true_front = [p[0] for p in _score_front({a: truth[a] for a in archs}, cost)]
    whole = _front_hypervolume(true_front, truth, cost, ref)
    ratio = _front_hypervolume(picked, truth, cost, ref) / whole if whole > 0 else float('nan')
    return dict(hv_ratio=ratio, finalists=picked, true_front=true_front,
                on_true_front=len(set(picked) & set(true_front)))


def front_recovery_references(seeds: Dict[str, Dict[str, float]], truth_seeds: List[str],
                              cost: Dict[str, float], finalists: int = 6, sims: int = 2000,
                              seed: int = 0) -> dict:
    """What :func:`front_recovery`'s ``hv_ratio`` means here: its value for random scores
    (what any ranking gets for nothing: the cheapest subnet is on every front) and for one
    seed's from-scratch mAPs judged by the mean of the other seeds (training against itself).

    Args:
        seeds: ``{arch: {seed: mAP}}``.
        truth_seeds: the seeds every subnet has; their mean is the truth.
        cost: ``{arch: cost}``.
        finalists: how many the search keeps.
        sims: random rankings drawn.
        seed: seed of the draws.

    Returns:
        ``random``: ``mean`` and ``ci95`` of the random rankings' ratio; with two truth seeds
        or more, ``seed_vs_rest``: ``{seed: ratio}`` and ``mean_seed_vs_rest``.
    """
    archs = [a for a in seeds if a in cost]
    truth = {a: statistics.fmean(seeds[a][k] for k in truth_seeds) for a in archs}
    rng = random.Random(seed)
    draws = []
    for _ in range(sims):
        shuffled = [rng.random() for _ in archs]
        draws.append(front_recovery(dict(zip(archs, shuffled)), truth, cost, finalists)['hv_ratio'])
    out = dict(random=dict(mean=statistics.fmean(draws), ci95=_percentiles(draws)))
    if len(truth_seeds) >= 2:
        per = {}
        for s in truth_seeds:
            rest = {a: statistics.fmean(seeds[a][k] for k in truth_seeds if k != s) for a in archs}
            per[s] = front_recovery({a: seeds[a][s] for a in archs}, rest, cost, finalists)['hv_ratio']
        out.update(seed_vs_rest=per, mean_seed_vs_rest=statistics.fmean(per.values()))
    return out


def front_recovery_draws(rankings: Dict[str, Dict[str, float]], seeds: Dict[str, Dict[str, float]],
                         truth_seeds: List[str], cost: Dict[str, float], finalists: int = 6,
                         resamples: int = 500, seed: int = 0) -> Optional[Dict[str, List[float]]]:
    """:func:`front_recovery`'s ``hv_ratio`` of each ranking under the truth's own noise: the
    truth's seeds resampled with replacement, every ranking valued against each resample's
    mean (the same draws for all: their differences are paired).

    Args:
        rankings: ``{name: {arch: score}}``, higher better.
        seeds: ``{arch: {seed: mAP}}``.
        truth_seeds: the seeds every subnet has (two or more, else None).
        cost: ``{arch: cost}``.
        finalists: how many the search keeps.
        resamples: the draws.
        seed: seed of the draws.

    Returns:
        ``{name: [ratio per draw]}``, or None with fewer than two truth seeds.
    """
    if len(truth_seeds) < 2:
        return None
    archs = [a for a in seeds if a in cost]
    rng = random.Random(seed)
    out = {name: [] for name in rankings}
    for _ in range(resamples):
        draw = [rng.choice(truth_seeds) for _ in truth_seeds]
        truth = {a: statistics.fmean(seeds[a][k] for k in draw) for a in archs}
        for name, scores in rankings.items():
            ranked = {a: scores[a] for a in archs if a in scores}
            out[name].append(front_recovery(ranked, truth, cost, finalists)['hv_ratio'])
    return out


def paired_difference(a: Sequence[float], b: Sequence[float], observed: float) -> Dict[str, object]:
    """A difference of two measures taken over the same draws (e.g. two rankings'
    :func:`front_recovery_draws`), as :func:`paired_tau_difference` gives one.

    Args:
        a, b: the two measures, draw by draw.
        observed: a - b on the data themselves.

    Returns:
        ``difference``, ``difference_ci95`` (of a - b over the draws) and ``beyond_noise``.
    """
    return _difference(observed, [x - y for x, y in zip(a, b)])
