"""Report of a subnet search and of its finalists: trials.csv, search.png, report.md.

The search part lists every evaluated subnet (inherited-weight mAP, table FLOPs)
and the front; the finalists part, once they are retrained, is the paper-style
table: params, FLOPs, latency on the named device, mAP with inherited weights and
mAP after retraining from scratch.
"""
import time
from pathlib import Path
from typing import Dict, List, Optional

from ..records import Finalist
from ..search.pareto import pareto_front
from ..search.study import arch_outcomes
from ..utils import atomic_write_text
from .plots import new_figure, save_figure, style_axes
from .tables import duplicate_counts, finalists_table, markdown_table, noise_lines, write_csv

COLUMNS = ('arch', 'state', 'trial', 'mAP', 'mAP_se', 'mAP_50', 'val_loss', 'box_blend', 'gflops',
           'eval_images', 'mAP_screen', 'val_loss_screen', 'eval_seconds', 'duplicates', 'error')
#: a search's score -> what its axis and tables call it
SCORE_LABELS = {'mAP': 'val bbox mAP', 'val_loss': 'val loss (lower is better)',
                'box_blend': 'val bbox mAP - scale x box loss'}


def search_rows(study, outcomes: Optional[Dict[str, dict]] = None) -> List[Dict[str, object]]:
    """One row per evaluated (or failed) subnet, by FLOPs.

    Args:
        study: the search's study.
        outcomes: its outcomes by subnet (default: :func:`arch_outcomes` of ``study``);
            :meth:`SubnetSearch.outcomes` adds the mAP scored after the search.
    """
    dup = duplicate_counts(study)
    rows = []
    for arch, o in (arch_outcomes(study) if outcomes is None else outcomes).items():
        a = o.get('attrs', {})
        rows.append(dict(arch=arch, state=o['state'], trial=o['trial'], mAP=a.get('mAP', ''),
                         mAP_se=a.get('mAP_se', ''),
                         mAP_50=a.get('mAP_50', ''), val_loss=a.get('val_loss', ''),
                         box_blend=a.get('box_blend', ''),
                         gflops=round(a['flops'] / 1e9, 4) if 'flops' in a else '',
                         eval_seconds=round(a['eval_seconds'], 2) if 'eval_seconds' in a else '',
                         eval_images=a.get('eval_images', ''), mAP_screen=a.get('mAP_screen', ''),
                         val_loss_screen=a.get('val_loss_screen', ''),
                         duplicates=dup.get(arch, 0), error=o.get('error', '')))
    return sorted(rows, key=lambda r: (r['state'] != 'complete', r['gflops'] or 0, r['arch']))


def _screening_line(search, done) -> str:
    total = search.evaluator.num_images
    if not search.screen_images:
        why = (f'the subset would have fewer than {search.opts["screen_min_images"]} images'
               if search.opts.get('screen_fraction') else 'subnet_search.screen_fraction is not set')
        return (f'- scoring: every subnet on all {total} val images at batch {search.evaluator.batch_size}, '
                f'{search.evaluator.precision} (no screening: {why})')
    screened = sum(r['eval_images'] not in ('', total) for r in done)
    return (f'- scoring: at batch {search.evaluator.batch_size}, {search.evaluator.precision}; '
            f'every subnet first on '
            f'{search.screen_images} of the {total} val images, then on all of them if it could reach '
            f'the front: {screened} of {len(done)} stayed at their subset score (dominated by a cheaper '
            f'subnet scored in full)')


def _plot(rows, front, finalists, path: Path, key: str = 'mAP', sign: int = 1) -> None:
    """The subnets and the front by the search's score ``key`` (``sign``: its sign in the
    front's values); beside it, the finalists' mAP with inherited weights and retrained."""
    done = [r for r in rows if r['state'] == 'complete']
    by_arch = {r['arch']: r for r in done}
    fig, axes = new_figure(1, 2 if finalists else 1, figsize=(12 if finalists else 7, 4.5), dpi=120,
                             squeeze=False)
    ax = axes[0][0]
    ax.scatter([r['gflops'] for r in done], [r[key] for r in done], c='0.6', s=14,
               label=f'subnets, inherited weights ({len(done)})')
    ax.plot([p[2] / 1e9 for p in front], [sign * p[1] for p in front], '-o', c='tab:red', ms=4,
            label=f'Pareto front ({len(front)})')
    for f in finalists:
        if f.arch in by_arch:
            ax.annotate(f.name, (f.gflops, by_arch[f.arch][key]), textcoords='offset points',
                        xytext=(4, 4), fontsize=9, weight='bold')
    style_axes(ax, 'GFLOPs (whole detector)', f'{SCORE_LABELS.get(key, key)} (inherited weights)',
               'subnet search')
    if finalists:
        ax = axes[0][1]
        ret = [f for f in finalists if f.retrained]
        ax.plot([f.gflops for f in finalists], [f.mAP_inherited for f in finalists], 'o--',
                c='tab:blue', label='inherited weights')
        ax.plot([f.gflops for f in ret], [f.mAP_retrained for f in ret], 's-', c='tab:green',
                label='retrained from scratch')
        for f in finalists:
            ax.annotate(f.name, (f.gflops, f.mAP_inherited), textcoords='offset points',
                        xytext=(4, 4), fontsize=9)
        style_axes(ax, 'GFLOPs', 'bbox mAP', 'finalists')
    save_figure(fig, path)


def write_subnet_report(search, study, finalists: Optional[List[Finalist]] = None) -> Dict[str, Path]:
    """Write ``trials.csv``, ``search.png`` and ``report.md`` in the search's work dir.

    Args:
        search: the :class:`~smnas.search.subnet.SubnetSearch`.
        study: its Optuna study.
        finalists: finalist records (see :mod:`smnas.modular.finalists`), with
            retraining results where available.

    Returns:
        Paths of the written files.
    """
    wd = Path(search.work_dir)
    finalists = finalists or []
    rows = search_rows(study, search.outcomes(study))
    done = [r for r in rows if r['state'] == 'complete']
    key, sign = search.score_key, search.score_sign
    front = pareto_front([(r['arch'], sign * r[key], r['gflops'] * 1e9) for r in done])
    out = dict(trials_csv=wd / 'trials.csv', report=wd / 'report.md', plot=wd / 'search.png')
    write_csv(out['trials_csv'], rows, COLUMNS)
    if done:
        _plot(rows, front, finalists, out['plot'], key, sign)
    st = search.status(study)
    skipped = st['skipped']
    lo, hi = search.range
    device = next((f.device for f in finalists if f.device), 'n/a')
    lines = [
        '# SM-NAS modular stage: subnet search and finalists', '',
        f'- supernet config: `{search.cfg.filename}`',
        f'- supernet checkpoint: `{search.supernets.describe()}`',
        f'- work dir: `{wd}`', f'- storage: `{search.storage}`',
        f'- written: {time.strftime("%Y-%m-%d %H:%M:%S")}',
        f'- space: {search.space.count()} subnets {search.space.to_dict()}',
        f'- seed: {search.opts["seed"]}, NSGA-II population {search.opts["population_size"]}',
        f'- FLOPs at {search.input_size[0]}x{search.input_size[1]} (per-layer table, whole detector, '
        f'multiply-adds): subnets span {search.span[0] / 1e9:.2f}-{search.span[1] / 1e9:.2f} G; '
        f'searched range {lo / 1e9:.2f}-{hi / 1e9:.2f} G',
        f'- evaluated subnets: {len(done)} with inherited weights, {st["failed"]} failed, {skipped} '
        f'proposals outside the FLOPs range skipped without evaluation',
        _screening_line(search, done),
        f'- subnets ranked by {SCORE_LABELS.get(key, key)} with inherited weights '
        f'(`subnet_search.score={key!r}`)' + (
            "; inherited mAP of the front's subnets only, scored after the search "
            "(`subnet_search.map_of='front'`)" if search.defer_map else ''),
        f'- Pareto front: {len(front)} subnets; hypervolume {st["hypervolume"]:.4g} ({key} x GFLOPs, '
        f'reference {(st["hv_ref"] or 0) / 1e9:.2f} GFLOPs' +
        (f', {key} {sign * st["hv_ref_score"]:.4g})' if st.get('hv_ref_score') else ')'),
        '',
        '## Finalists', '',
    ]
    if not finalists:
        lines.append('Not selected yet.')
    else:
        if len(finalists) < 6:
            lines += [f'The front has {len(front)} subnets, so {len(finalists)} finalists are selected '
                      f'(fewer than six).', '']
        lines += [f'Latency: median batch-1 `test_step` on {device}. mAP: val bbox mAP; retrained '
                  f'= trained from scratch (training config: `finalists/E*/retrain/config.py`, log and '
                  f'checkpoints beside it).', ''] + finalists_table(finalists)
        noise = noise_lines(finalists)
        lines += [''] + noise if noise else []
    lines += ['', '![search](search.png)', '', '## Pareto front (inherited weights)', '']
    by_arch = {r['arch']: r for r in done}
    extra = [] if key == 'mAP' else [key]
    boots = search.opts.get('bootstrap')
    if any(by_arch[arch]['mAP_se'] != '' for arch, _, _ in front):
        lines += [f'mAP ± its standard error over the val images ({boots} bootstrap resamples). Subnets '
                  f'scored on the same images differ with less noise than the two SEs add up to; the '
                  f'retrained finalists above are compared pairwise.', '']

    def with_se(r):
        if r['mAP'] == '':  # the front's mAP is scored when the search ends
            return 'not scored yet'
        return f'{r["mAP"]:.4f}' + (f' ± {r["mAP_se"]:.4f}' if r['mAP_se'] != '' else '')
    lines += markdown_table(['subnet', 'GFLOPs', 'mAP'] + extra,
                            [[f'`{arch}`', f'{flops / 1e9:.3f}', with_se(by_arch[arch])] +
                             [f'{by_arch[arch][k]:.4f}' for k in extra] for arch, _, flops in front])
    lines += ['', f'All {len(rows)} evaluated subnets: `trials.csv`.']
    lines += _ensemble_lines(search, done)
    atomic_write_text(out['report'], '\n'.join(lines) + '\n')
    return out


def _ensemble_lines(search, done: List[dict]) -> List[str]:
    """With several supernets: how alike they rank the subnets they all scored by the
    search's score, and how reliable the ranking by their mean is
    (:func:`~smnas.modular.ensemble.members_agreement`)."""
    from ..modular.ensemble import members_agreement
    from ..search.trial import read_stored

    k = len(search.supernets.members)
    if k < 2:
        return []
    key = search.score_key
    each = []
    for r in done:
        members = (read_stored(search.results_dir / r['arch']) or {}).get('member_scores') or []
        if len(members) == k and all(m.get(key) is not None for m in members):
            each.append([m[key] for m in members])
    agreement = members_agreement(list(zip(*each))) if each else None
    lines = ['', '## Supernet ensemble', '',
             f'Each subnet scored with each of the {k} supernets\' weights and ranked by the mean '
             f'(`member_scores` in its `result.json`).']
    if agreement is None:
        return lines + [f'{len(each)} subnets scored by every supernet by {key}, or one supernet scoring '
                        f'them all alike: too little to say how alike they rank (3 or more needed).']
    a = agreement
    lines.append(f'Over the {a["subnets"]} subnets they all scored, the supernets rank by {key} alike at '
                 f'Kendall tau {a["kendall_tau"]:.3f} (the mean over pairs).')
    if a['mean_reliability'] is None:
        return lines + ['They share no order: their mean ranks by noise; check each supernet\'s training.']
    more = ', '.join(f'{n} supernets {r:.3f}' for n, r in a['projected'].items() if n > k)
    return lines + [
        f'The reliability of one supernet\'s scores (the share of their spread over subnets that the '
        f'supernets share; Greiner\'s r = sin(pi tau / 2)) is {a["reliability"]:.3f}, of the mean of '
        f'the {k} {a["mean_reliability"]:.3f}' + (f'; of a mean of {more}' if more else '') + '. A mean '
        'averages each supernet\'s training noise away, not what they share: it ranks no better than '
        'their recipe\'s own order (the rank benchmark measures that against training: '
        '`benchmarks/README.md`, "How far more seeds go").']
