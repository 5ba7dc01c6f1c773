"""The rank-fidelity record's tables as Markdown: where the goals stand, the from-scratch
truth, every recipe against it, and each recipe's tau corrected for the truth's noise.

``benchmarks/README.md`` shows these tables; printing them from the record
(``benchmarks/results/rank_fidelity.json``) rather than copying numbers by hand keeps
the README and the record alike whenever a seed or a recipe is added
(``python benchmarks/rank_tables.py``; ``--write`` puts them between the README's markers).
"""
import re
import statistics
from typing import Callable, Dict, List, Optional, Sequence, Tuple

from ..evaluation.blend import box_blend_scale, box_blend_scores, box_losses
from .stats import blend_scores, disattenuated_tau, mean_reliability, paired_tau_difference, subset_taus

#: the scores a recipe is ranked by, in the record's ``by_score`` order, and their labels
SCORES = (('mAP', 'mAP'), ('val_loss', 'val loss'), ('blend', 'blend'), ('box_blend', 'mAP + box loss'))


def ordinal(n: int) -> str:
    """``1`` -> ``1st``, ``22`` -> ``22nd``, ``13`` -> ``13th``."""
    if 10 <= n % 100 <= 20:
        return f'{n}th'
    return f'{n}{ {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")}'


def _ci(interval: Optional[Sequence[float]], digits: int = 2) -> str:
    return '' if not interval else f' [{interval[0]:.{digits}f}, {interval[1]:.{digits}f}]'


def _row(cells: List[str]) -> str:
    return '| ' + ' | '.join(cells) + ' |'


def _header(cells: List[str]) -> List[str]:
    return [_row(cells), _row(['---'] * len(cells))]


def truth_table(record: dict) -> str:
    """Every subnet's from-scratch mAP per seed and the truth (their mean over the seeds
    that every subnet has), smallest first.

    Args:
        record: the rank-fidelity record (``subnets`` with ``mAP_scratch_seeds``).

    Returns:
        A Markdown table; a seed that only some subnets have so far gets a column too, its
        missing cells empty (it is not in the mean until whole).
    """
    subnets = record['subnets']
    seeds = sorted({s for r in subnets.values() for s in r.get('mAP_scratch_seeds', {})}, key=int)
    whole = set(record.get('truth_seeds') or seeds)
    rows = sorted(subnets.items(), key=lambda kv: kv[1]['gflops'])
    mark = {rows[0][0]: ' (min)', rows[-1][0]: ' (max FLOPs)'} if rows else {}
    lines = _header(['subnet', 'GFLOPs']
                    + [f'mAP seed {s}' + ('' if s in whole else ' (partial)') for s in seeds]
                    + ['mean (the truth)'])
    for arch, r in rows:
        by_seed = r.get('mAP_scratch_seeds', {})
        mean = r.get('mAP_scratch_mean')
        lines.append(_row([f'`{arch}`{mark.get(arch, "")}', f'{r["gflops"]:.2f}']
                          + [f'{by_seed[s]:.3f}' if s in by_seed else '' for s in seeds]
                          + ['' if mean is None else f'{mean:.3f}']))
    return '\n'.join(lines)


def _scores(inherited: Dict[str, dict], score: str, archs: List[str]) -> Optional[List[float]]:
    # Higher ranks better: the loss negated, the blend stats.blend_scores; None where a
    # subnet lacks the score.
    if any(a not in inherited for a in archs):
        return None
    if score == 'mAP':
        return [inherited[a]['mAP'] for a in archs]
    if any('val_loss' not in inherited[a] for a in archs):
        return None
    loss = [-inherited[a]['val_loss'] for a in archs]
    if score == 'val_loss':
        return loss
    maps = [inherited[a]['mAP'] for a in archs]
    if score == 'blend':
        return blend_scores(maps, loss)
    box = box_losses(inherited, archs)
    return None if box is None else box_blend_scores(maps, box)


def _paired(x: Optional[List[float]], y: Optional[List[float]], truth: List[float], resamples: int) -> str:
    if x is None or y is None:
        return ''
    return _difference(paired_tau_difference(x, y, truth, resamples=resamples))


def _difference(d: dict) -> str:
    # a paired difference (stats.paired_tau_difference, stats.paired_difference) as a cell
    ci = d['difference_ci95']
    text = f'{d["difference"]:+.3f}' + ('' if ci is None else f' [{ci[0]:+.2f}, {ci[1]:+.2f}]')
    return f'**{text}, beyond noise**' if d['beyond_noise'] else text


def recipe_table(record: dict, references: Sequence[str] = (), resamples: int = 2000) -> str:
    """Every recipe's ranking against the truth, one row per score it was ranked by.

    Args:
        record: the rank-fidelity record (``variants``, ``subnets``, ``default_variant``,
            ``ground_truth_seeds``, ``ground_truth_reliability``, ``baselines``).
        references: recipes to pair every row with besides the default (a column each):
            the row's score against the reference's mAP on the same subnets, tau(row) -
            tau(reference) with a paired bootstrap interval over the subnets.
        resamples: that bootstrap's draws (as the record's own paired differences).

    Returns:
        A Markdown table: tau and rho with their 95% intervals, the min subnet's inherited
        rank (places off its from-scratch rank, and places beyond the truth's noise), the
        pairs the truth resolves that the recipe orders alike (mAP only), tau over the
        seeds' agreement and over an oracle's, and the paired differences.
    """
    subnets, variants = record['subnets'], record['variants']
    default = record.get('default_variant')
    refs = [r for r in dict.fromkeys([default, *references]) if r in variants]  # the default first
    # in the record's order, so that the paired bootstraps draw what the bench's own drew
    archs = [a for a, r in subnets.items() if 'mAP_scratch_mean' in r]
    truth = [subnets[a]['mAP_scratch_mean'] for a in archs]
    ceiling = (record.get('ground_truth_seeds') or {}).get('mean_seed_pair_tau')
    oracle = (record.get('ground_truth_reliability') or {}).get('oracle_tau')
    resolved = next((v['resolved_pairs'] for v in variants.values() if 'resolved_pairs' in v), None)
    mins = next((v['min_subnet'] for v in variants.values() if v.get('min_subnet')), None)
    lines = _header(
        ['recipe, score', 'Kendall tau [95% CI]', 'Spearman rho [95% CI]',
         'min subnet inherited' + (f' (scratch: {ordinal(mins["rank_scratch"])})' if mins else ''),
         'resolved pairs agreed' + (f' (of {resolved})' if resolved is not None else ''),
         'tau over the seed ceiling' + (f' ({ceiling:.3f})' if ceiling else '')
         + ' / the oracle\'s' + (f' ({oracle:.3f})' if oracle else '')]
        + [f'minus {r} by mAP (paired)' + (' (the default)' if r == default else '') for r in refs])
    for name, v in variants.items():
        if 'kendall_tau' not in v:
            continue
        inh = v.get('inherited', {})
        ref_maps = {r: _scores(variants[r].get('inherited', {}), 'mAP', archs) for r in refs}
        for score, label in SCORES:
            r = (v.get('by_score') or {}).get(score) or (v if score == 'mAP' else None)
            if not r:
                continue
            tau = r['kendall_tau']
            m = r.get('min_subnet') or (v.get('min_subnet') if score == 'mAP' else None)
            where = (f'{ordinal(m["rank_inherited"])} ({m["error"]} off, {m.get("error_beyond_noise", "-")})'
                     if m else '')
            agreed = str(v.get('resolved_pairs_agreed', '')) if score == 'mAP' else ''
            ratios = ' / '.join(f'{tau / c:.2f}' for c in (ceiling, oracle) if c)
            mine = _scores(inh, score, archs)
            paired = ['' if ref == name and score == 'mAP' else _paired(mine, ref_maps[ref], truth, resamples)
                      for ref in refs]
            mark = name == default and score == 'mAP'
            title = f'{_label(record, name)}, {label}' + (' (the default)' if mark else '')
            lines.append(_row([f'**{title}**' if mark else title,
                               f'{tau:.3f}{_ci(r.get("kendall_tau_ci95"))}',
                               f'{r["spearman_rho"]:.3f}{_ci(r.get("spearman_rho_ci95"))}',
                               where, agreed, ratios] + paired))
    for name, b in (record.get('baselines') or {}).items():
        lines.append(_row([f'by {name} (baseline)', f'{b["kendall_tau"]:.3f}{_ci(b.get("kendall_tau_ci95"))}',
                           f'{b["spearman_rho"]:.3f}{_ci(b.get("spearman_rho_ci95"))}', '', '', '']
                          + [''] * len(refs)))
    return '\n'.join(lines)


def _label(record: dict, name: str) -> str:
    """A recipe's name in a table: a ranking by several seeds' mean scores says so, and one
    that ranks fewer subnets than the truth has (scoring under way) says how many."""
    v = record['variants'].get(name) or {}
    whole = sum('mAP_scratch_mean' in r for r in record['subnets'].values())
    parts = [f'mean of {len(v["ensemble_of"])} {v.get("mean_over", "seeds")}'] if v.get('ensemble_of') else []
    if v.get('subnets') and v['subnets'] < whole:
        parts.append(f'{v["subnets"]} of {whole} subnets')
    return f'{name} ({", ".join(parts)})' if parts else name


def projected_from(previous: dict, variant: str, seeds: int) -> Optional[float]:
    """A recipe's tau against a truth of ``seeds`` seeds, as an earlier record (a truth of
    fewer seeds) projected it: its tau then, corrected for that truth's reliability and
    attenuated to the reliability of ``seeds`` (:func:`~smnas.benchmarks.stats.disattenuated_tau`).
    Set beside the tau the new truth measures, it checks the correction out of sample.

    Args:
        previous: the earlier rank-fidelity record (``variants``, ``truth_seeds``,
            ``ground_truth_reliability``).
        variant: the recipe.
        seeds: the seeds of the truth to project to.

    Returns:
        The projected tau; None where the earlier record lacks the recipe or a reliability.
    """
    v, rel = previous['variants'].get(variant) or {}, previous.get('ground_truth_reliability')
    if 'kendall_tau' not in v or not rel or not previous.get('truth_seeds'):
        return None
    have = mean_reliability(rel, len(previous['truth_seeds']))
    return disattenuated_tau(v['kendall_tau'], have, mean_reliability(rel, seeds))


def projection_table(record: dict, previous: Optional[dict] = None) -> str:
    """Each recipe's tau (by mAP) against this truth, corrected for the truth's noise: against
    the true order (with its interval) and against truths of more seeds (``projected_tau``).

    Args:
        record: the rank-fidelity record.
        previous: an earlier record, of a truth of fewer seeds: two more columns, each
            recipe's tau against this truth as that record projected it
            (:func:`projected_from`) and the measured tau minus that projection.

    Returns:
        A Markdown table, one row per recipe that has a projection.
    """
    variants = record['variants']
    ks = sorted({k for v in variants.values() for k in (v.get('projected_tau') or {}).get('vs_seeds', {})},
                key=int)
    n = len(record.get('truth_seeds') or [])
    m = len((previous or {}).get('truth_seeds') or [])
    if previous is not None and not 0 < m < n:
        raise ValueError(f'the earlier record has a truth of {m} seeds: a projection to this one\'s {n} '
                         'needs a truth of fewer seeds, and more than none')
    lines = _header(['recipe, by mAP', f'tau against this {n}-seed truth', 'against the true order [95% CI]']
                    + [f'against a truth of {k} seeds' for k in ks]
                    + ([f'against {n} seeds, projected from the {m}-seed truth',
                        'measured (the first column) minus projected'] if previous else []))
    for name, v in variants.items():
        p = v.get('projected_tau')
        if not p:
            continue
        title = _label(record, name) + (' (the default)' if name == record.get('default_variant') else '')
        vs_true = f'{p["vs_true"]:.2f}{_ci(p.get("vs_true_ci95"))}'
        row = [title, f'{v["kendall_tau"]:.3f}', vs_true]
        row += [f'{p["vs_seeds"][k]:.2f}' if k in p['vs_seeds'] else '' for k in ks]
        if previous:
            then = projected_from(previous, name, n)
            row += ['', ''] if then is None else [f'{then:.2f}', f'{v["kendall_tau"] - then:+.2f}']
        lines.append(_row(row))
    return '\n'.join(lines)


def front_table(record: dict) -> str:
    """What each recipe's search would retrain: its finalists (spread along the front of its
    inherited mAP against GFLOPs) valued at their from-scratch mAP, as a share of the true
    front's hypervolume (``front_recovery``), beside finalists spread by GFLOPs alone, random
    rankings and one seed's trainings judged by the other seeds'.

    Args:
        record: the rank-fidelity record (``front_recovery``, ``default_variant``).

    Returns:
        A Markdown table; empty without ``front_recovery``.
    """
    front = record.get('front_recovery')
    if not front:
        return ''
    default = record.get('default_variant')
    lines = _header(['ranking (finalists by inherited mAP)',
                     f"{front['finalists']} finalists' share of the true front's hypervolume [95% CI]",
                     'finalists on the true front', f'minus {default} (paired)'])
    rankings = front['rankings']
    order = [default] + sorted(n for n in rankings if n not in (default, 'by_cost')) + ['by_cost']
    titles = {default: f'**{default} (the default)**', 'by_cost': 'by GFLOPs alone (baseline)'}
    for name in [n for n in order if n in rankings]:
        r, title = rankings[name], titles.get(name) or _label(record, name)
        diff = r.get('minus_default')
        lines.append(_row([title, f'{r["hv_ratio"]:.3f}{_ci(r.get("hv_ratio_ci95"))}',
                           f'{r["on_true_front"]} of {len(r["finalists"])}',
                           _difference(diff) if diff else '']))
    ref = front['reference']
    lines.append(_row(['random rankings (mean)', f'{ref["random"]["mean"]:.3f}{_ci(ref["random"]["ci95"])}',
                       '', '']))
    if 'seed_vs_rest' in ref:
        per = ref['seed_vs_rest'].values()
        lines.append(_row(['one seed judged by the other seeds (mean, range)',
                           f'{ref["mean_seed_vs_rest"]:.3f} [{min(per):.2f}, {max(per):.2f}]', '', '']))
    return '\n'.join(lines)


def within_table(record: dict) -> str:
    """Where the order within the choice that orders most of the truth (the head width) comes
    from, and which recipe sees it: one row per value of every other choice, its mean minus
    the mean of its stratum (``truth_stratified_effects``: the truth's, with its standard
    error over the seeds; ``variants.<v>.stratified_effects``: each recipe's, by inherited
    mAP), and per choice the Kendall tau of the recipe's value effects against the truth's.

    Args:
        record: the rank-fidelity record (``truth_stratified_effects``, ``variants``,
            ``default_variant``).

    Returns:
        A Markdown table; empty without ``truth_stratified_effects``.
    """
    truth = record.get('truth_stratified_effects')
    if not truth:
        return ''
    default = record.get('default_variant')
    variants = record['variants']
    given = truth['given']
    names = [n for n in [default] + sorted(n for n in variants if n != default)
             if n in variants and (variants[n].get('stratified_effects') or {}).get('given') == given]
    lines = _header([f'choice, value (mean minus its {given}\'s)',
                     f'truth ({len(record.get("truth_seeds") or [])} seeds, ±SE)']
                    + [f'**{n}**' if n == default else _label(record, n) for n in names])
    for choice, e in truth['choices'].items():
        mine = {n: variants[n]['stratified_effects']['choices'].get(choice) or {} for n in names}
        for value, m in e['values'].items():
            scores = [((mine[n].get('values') or {}).get(value) or {}).get('score') for n in names]
            lines.append(_row([f'{choice} {value} ({m["n"]} subnet{"s" if m["n"] != 1 else ""})',
                               f'{m["truth"]:+.4f} ± {m["truth_se"]:.4f}'] + [_signed(x) for x in scores]))
        taus = [mine[n].get('tau_of_effects') for n in names]
        lines.append(_row([f'{choice}: values ordered as the truth\'s (tau)', '']
                          + ['-' if t is None else f'{t:.2f}' for t in taus]))
    return '\n'.join(lines)


#: the issue's goals: two truths agree at this tau; a recipe's tau and its lower 95% bound;
#: how many places off the min subnet's inherited rank may be
GOALS = dict(truth_tau=0.8, tau=0.8, tau_low=0.6, min_places=2)


def _default_seeds(record: dict) -> Tuple[List[str], Optional[str]]:
    # The default recipe's supernets, one per seed, and the ranking by their mean scores: the
    # largest seed ensemble that starts with the default (the summary names it <default>_xN).
    default = record['default_variant']
    ensembles = [n for n, v in record['variants'].items()
                 if v.get('mean_over') == 'seeds' and (v.get('ensemble_of') or [None])[0] == default]
    if not ensembles:
        return [default], None
    best = max(ensembles, key=lambda n: len(record['variants'][n]['ensemble_of']))
    return list(record['variants'][best]['ensemble_of']), best


def _meets(v: dict) -> bool:
    low = (v.get('kendall_tau_ci95') or [float('-inf')])[0]
    return v['kendall_tau'] >= GOALS['tau'] and low >= GOALS['tau_low']


def _count(k: int, n: int) -> str:
    return 'yes' if k == n else 'no' if k == 0 else f'by {k} seed{"s" * (k > 1)} of {n}'


def _by(v: dict, score: str) -> dict:
    # a variant's ranking by one score: its own fields by mAP, its by_score's otherwise
    return v if score == 'mAP' else v['by_score'][score]


def goals_table(record: dict) -> str:
    """Where the issue's goals stand, from the record: the truth's agreement with itself,
    the default recipe's tau on each of its seeds' supernets and by their mean scores, and
    the min subnet's rank error on each, all by the score the search ranks by by default
    (``default.score``).

    Args:
        record: the rank-fidelity record (``truth_split_tau`` or ``truth_seed_tau``,
            ``default_variant`` and its seeds' variants, each with ``kendall_tau``,
            ``kendall_tau_ci95`` and ``min_subnet``, in its ``by_score`` too for a default
            score other than the mAP).

    Returns:
        A Markdown table of the three goals: what was measured and whether it is met (a
        goal met on some seeds only says on how many). A seed's tau that meets the goal (its
        lower bound too) is in bold.
    """
    variants = record['variants']
    split, sizes = record.get('truth_split_tau'), record.get('truth_split_sizes')
    one = record.get('truth_seed_tau')
    if split is not None and sizes:
        each = f'{sizes[0]} seeds each' if len(set(sizes)) == 1 else f'{" and ".join(map(str, sizes))} seeds'
        truth = (f'two truths of {each}, no seed shared: {split:.3f} '
                 f'(mean over the splits); one training against another {one:.2f}')
        met = 'yes' if split >= GOALS['truth_tau'] else 'no'
    elif one is not None:
        truth, met = f'one training against another {one:.3f}', 'yes' if one >= GOALS['truth_tau'] else 'no'
    else:
        truth, met = 'not measured: fewer than two whole seeds', 'no'
    lines = _header(['goal', 'measured', 'met'])
    lines.append(_row([f'the truth agrees with itself, tau >= {GOALS["truth_tau"]}', truth, met]))

    members, ensemble = _default_seeds(record)
    score = (record.get('default') or {}).get('score', 'mAP')
    ranked = {n: _by(variants[n], score) for n in members + ([ensemble] if ensemble else [])}
    seeds = [str((variants[m].get('cfg_options') or {}).get('model.seed', 0)) for m in members]
    taus = [ranked[m]['kendall_tau'] for m in members]
    cells = [f'{t:.3f}{_ci(ranked[m].get("kendall_tau_ci95"))}' for m, t in zip(members, taus)]
    cells = [f'**{c}**' if _meets(ranked[m]) else c for m, c in zip(members, cells)]
    of = f'seed {seeds[0]}' if len(members) == 1 else f'seeds {", ".join(seeds)}'
    measured = f'its {len(members)} supernet{"s" if len(members) > 1 else ""} ({of}): {", ".join(cells)}'
    met = _count(sum(_meets(ranked[m]) for m in members), len(members))
    if len(members) > 1:
        measured += f'; one supernet {statistics.fmean(taus):.3f} +- {statistics.stdev(taus):.3f}'
    if ensemble:
        e = ranked[ensemble]
        measured += (f'; the mean score of the {len(members)} (`{ensemble}`) {e["kendall_tau"]:.3f}'
                     f'{_ci(e.get("kendall_tau_ci95"))}')
        met += f'; their mean: {"yes" if _meets(e) else "no"}'
    by = '' if score == 'mAP' else f' ranked by {dict(SCORES).get(score, score)}'
    goal = (f'the default recipe (`{record["default_variant"]}`){by} tau >= {GOALS["tau"]}, '
            f'lower bound >= {GOALS["tau_low"]}')
    lines.append(_row([goal, measured, met]))

    errors = [ranked[m]['min_subnet'] for m in members]
    beyond = sum(e.get('error_beyond_noise', 0) > 0 for e in errors)
    measured = (f'{of}: {", ".join(str(e["error"]) for e in errors)} places '
                f'({beyond} beyond its from-scratch noise band)')
    met = _count(sum(e['error'] <= GOALS['min_places'] for e in errors), len(errors))
    if ensemble:
        e = ranked[ensemble]['min_subnet']
        measured += f'; their mean: {e["error"]}'
        met += f'; their mean: {"yes" if e["error"] <= GOALS["min_places"] else "no"}'
    lines.append(_row([f'the min subnet <= {GOALS["min_places"]} places off', measured, met]))
    return '\n'.join(lines)


def blend_table(record: dict, resamples: int = 2000) -> str:
    """Ranking by the blend of the inherited mAP and the box loss against ranking by the mAP,
    on every supernet whose subnets all have the box loss (a mean over supernets left out:
    its members are in): each supernet's tau both ways and their paired difference, the
    blend's tau with the scale a search would set (from ``subnet_search.blend_calibration``'s subnets of
    :func:`~smnas.search.pareto.coarse_to_fine` over the subnets by FLOPs, as the search's
    first generation starts), and the difference pooled over all of them and over the default
    recipe's seeds (:func:`~smnas.benchmarks.stats.pooled_tau_difference`).

    Args:
        record: the rank-fidelity record.
        resamples: the paired bootstrap's draws.

    Returns:
        A Markdown table, a row per supernet and the pooled rows.
    """
    from scipy.stats import kendalltau

    from ..search.pareto import coarse_to_fine
    from ..search.subnet import SUBNET_DEFAULTS
    from .stats import pooled_tau_difference

    subnets = record['subnets']
    archs = [a for a, r in subnets.items() if 'mAP_scratch_mean' in r]
    truth = [subnets[a]['mAP_scratch_mean'] for a in archs]
    by_flops = coarse_to_fine(sorted(archs, key=lambda a: subnets[a]['gflops']))
    first = [archs.index(a) for a in by_flops[:SUBNET_DEFAULTS['blend_calibration']]]
    members, _ = _default_seeds(record)
    lines = _header(['supernet', 'by mAP', 'by mAP + box loss', 'minus by mAP (paired)',
                     'scale (all / search\'s)',
                     f'by mAP + box loss, the search\'s scale ({len(first)} subnets)'])
    pairs = {}
    for name, v in record['variants'].items():
        inh = v.get('inherited', {})
        if v.get('ensemble_of') or _scores(inh, 'box_blend', archs) is None:
            continue
        maps, box = _scores(inh, 'mAP', archs), box_losses(inh, archs)
        blend = box_blend_scores(maps, box)
        scale = box_blend_scale([maps[i] for i in first], [box[i] for i in first])
        taus = [float(kendalltau(x, truth)[0]) for x in (maps, blend, box_blend_scores(maps, box, scale))]
        pairs[name] = (blend, maps)
        lines.append(_row([_label(record, name), f'{taus[0]:.3f}', f'{taus[1]:.3f}',
                           _paired(blend, maps, truth, resamples),
                           f'{box_blend_scale(maps, box):.3f} / {scale:.3f}', f'{taus[2]:.3f}']))
    for label, names in ((f'pooled over the {len(pairs)} supernets', list(pairs)),
                         ("pooled over the default's seeds", [m for m in members if m in pairs])):
        if len(names) > 1:
            d = pooled_tau_difference([pairs[n] for n in names], truth, resamples)
            lines.append(_row([label, '', '', _difference(d), '', '']))
    return '\n'.join(lines)


def seeds_table(record: dict) -> str:
    """What a mean over more supernets of the default recipe buys, and costs: for K = 1 to
    the seeds trained, the ranking (by mAP) of the mean score of every K of them
    (``members_subsets``), how many of those means meet the goal, the tau the model projects
    for a mean of K (``members_projection``), and K times the members' mean supernet training
    and scoring time per subnet.

    Args:
        record: the rank-fidelity record (``default_variant``, its seeds' mean, the
            ``<default>_xN`` variant with ``members_subsets``).

    Returns:
        A Markdown table, one row per K; empty where the default has no mean of seeds with
        ``members_subsets``.
    """
    members, ensemble = _default_seeds(record)
    variants = record['variants']
    subsets = (variants[ensemble].get('members_subsets') or {}) if ensemble else {}
    if not subsets:
        return ''
    projected = (variants[ensemble].get('members_projection') or {}).get('projected') or {}
    supernet = statistics.fmean(variants[m]['supernet_seconds'] for m in members) / 3600
    scoring = statistics.fmean(statistics.fmean(s['seconds'] for s in variants[m]['inherited'].values())
                               for m in members)
    lines = _header(['supernets (K)', 'means of K measured', 'tau: mean ± sd', 'lowest, highest',
                     f'meet the goal (tau >= {GOALS["tau"]}, lower bound >= {GOALS["tau_low"]})',
                     f'projected from the {len(members)}',
                     'supernet training (h)', 'scoring (s per subnet)'])
    measured = subset_taus(subsets)
    for k, each in sorted(subsets.items(), key=lambda kv: int(kv[0])):
        k = int(k)
        taus = measured[k]  # a mean tied on every subnet (no tau) is counted, not in the spread
        spread = f' ± {statistics.stdev(taus):.3f}' if len(taus) > 1 else ''
        p = projected.get(k, projected.get(str(k)))
        lines.append(_row([str(k), str(len(each)), f'{statistics.fmean(taus):.3f}{spread}' if taus else '-',
                           f'{min(taus):.3f}, {max(taus):.3f}' if taus else '-',
                           f'{sum(map(_meets, each))} of {len(each)}',
                           '' if p is None else f'{p:.3f}', f'{k * supernet:.1f}', f'{k * scoring:.0f}']))
    return '\n'.join(lines)


def _signed(x: Optional[float]) -> str:
    return '' if x is None else f'{x:+.4f}'


#: the tables ``benchmarks/rank_tables.py`` prints, by name
TABLES = {'goals': goals_table, 'truth': truth_table, 'recipes': recipe_table, 'projected': projection_table,
          'front': front_table, 'within': within_table, 'blend': blend_table, 'seeds': seeds_table}

_MARKER = re.compile(r'^(?P<indent>[ \t]*)<!-- rank_tables:(?P<name>[\w-]+) -->[ \t]*$', re.M)


def write_tables(text: str, table: Callable[[str], str]) -> str:
    """``text`` (a README) with each table between its markers printed anew: the lines
    between ``<!-- rank_tables:NAME -->`` and ``<!-- /rank_tables:NAME -->`` are replaced by
    ``table(NAME)``, indented as the opening marker is (a table inside a list item). The
    rest of the text is kept as it is.

    Args:
        text: the Markdown text with markers.
        table: the table of a name (one of :data:`TABLES`).

    Returns:
        The new text.

    Raises:
        ValueError: a marker names no table, or has no closing marker after it.
    """
    out, pos = [], 0
    for m in _MARKER.finditer(text):
        if m.start() < pos:
            continue  # inside a block already replaced
        name, indent = m.group('name'), m.group('indent')
        if name not in TABLES:
            raise ValueError(f'line {text.count(chr(10), 0, m.start()) + 1}: <!-- rank_tables:{name} --> '
                             f'names no table (tables: {", ".join(TABLES)})')
        end = re.compile(rf'^[ \t]*<!-- /rank_tables:{name} -->[ \t]*$', re.M).search(text, m.end())
        if end is None:
            raise ValueError(f'line {text.count(chr(10), 0, m.start()) + 1}: <!-- rank_tables:{name} --> '
                             f'has no closing <!-- /rank_tables:{name} --> after it')
        body = '\n'.join(indent + line for line in table(name).splitlines())
        out += [text[pos:m.end()], '\n\n', body, '\n\n']  # blank lines: the table a block of its own
        pos = end.start()
    return ''.join(out) + text[pos:]
