"""Report of a structural search: trials.csv, pareto.png, report.md and the C0-C5 configs."""
import time
from pathlib import Path
from typing import Dict, List

from ..structural.space import Candidate
from ..search.pareto import hypervolume_2d, pareto_front, spread_along
from ..search.study import arch_outcomes
from ..utils import atomic_write_text
from .plots import new_figure, save_figure, style_axes
from .tables import duplicate_counts, write_csv

COLUMNS = ('arch', 'state', 'trial', 'mAP', 'mAP_se', 'mAP_50', 'latency_ms', 'gflops', 'mparams',
           'input_size', 'device', 'train_seconds', 'duplicates', 'error')


def _rows(study) -> List[Dict[str, object]]:
    outcomes = arch_outcomes(study)
    dup = duplicate_counts(study)
    rows = []
    for arch, o in outcomes.items():
        a = o.get('attrs', {})
        rows.append(dict(
            arch=arch, state=o['state'], trial=o['trial'],
            mAP=a.get('mAP', ''), mAP_se=a.get('mAP_se', ''), mAP_50=a.get('mAP_50', ''),
            latency_ms=a.get('latency_ms', ''),
            gflops=round(a['flops'] / 1e9, 3) if 'flops' in a else '',
            mparams=round(a['params'] / 1e6, 3) if 'params' in a else '',
            input_size='x'.join(str(v) for v in a.get('input_size', [])), device=a.get('device', ''),
            train_seconds=a.get('train_seconds', ''), duplicates=dup.get(arch, 0),
            error=o.get('error', '')))
    return sorted(rows, key=lambda r: (r['state'] != 'complete', r['latency_ms'] or 0, r['arch']))


def _plot(rows, front, picks, path: Path) -> None:
    done = [r for r in rows if r['state'] == 'complete']
    fig, ax = new_figure(figsize=(7, 4.5), dpi=120)
    ax.scatter([r['latency_ms'] for r in done], [r['mAP'] for r in done], c='0.6', s=18,
               label=f'trials ({len(done)})')
    ax.plot([p[2] for p in front], [p[1] for p in front], '-o', c='tab:red', ms=5,
            label=f'Pareto front ({len(front)})')
    for i, p in enumerate(picks):
        ax.annotate(f'C{i}', (p[2], p[1]), textcoords='offset points', xytext=(5, 5), fontsize=9,
                    weight='bold')
    lat = [r['latency_ms'] for r in done]
    if lat and max(lat) > 10 * min(lat):
        ax.set_xscale('log')  # one slow candidate (C4...) would squash the rest
    style_axes(ax, 'inference latency (ms, batch 1)', 'val bbox mAP', 'SM-NAS structural search')
    save_figure(fig, path)


def fidelity_lines(work_dir: Path) -> List[str]:
    """The report's lines on successive halving (rungs, what each cost) and on the
    repeated trainings of one candidate (its seed-to-seed spread), from ``fidelity.json``."""
    import json

    p = Path(work_dir) / 'fidelity.json'
    if not p.is_file():
        return []
    rec = json.loads(p.read_text())
    lines = ['']
    if rec.get('kind') == 'halving':
        plan = rec['plan']
        lines += ['## Successive halving', '',
                  f'Rungs of {plan["sizes"]} candidates trained {plan["iters"]} iterations (keep '
                  f'1/{rec["eta"]} by non-dominated rank and crowding on mAP and latency): '
                  f'{plan["cost_iters"]} training iterations of a {plan["budget_iters"]:.0f}-iteration '
                  'budget. Only the last rung enters the front; lower-rung scores are below.', '',
                  '| rung | iterations | candidates | trained | best mAP | promoted |',
                  '|---|---|---|---|---|---|']
        for i, r in enumerate(rec['rungs']):
            ok = [x for x in r['results'] if x.get('error') is None and x.get('mAP') is not None]
            nxt = {x['arch'] for x in rec['rungs'][i + 1]['results']} if i + 1 < len(rec['rungs']) else set()
            best = max((x['mAP'] for x in ok), default=None)
            lines.append(f'| {i + 1} | {r["iters"]} | {len(r["results"])} | {len(ok)} | '
                         f'{"" if best is None else f"{best:.4f}"} | {len(nxt)} |')
    rep = rec.get('repeats')
    if rep:
        std = f'std {rep["std"]:.4f}, ' if rep.get('std') is not None else ''
        lines += ['', '## Noise of one training', '',
                  f'`{rep["arch"]}`, the most accurate candidate, trained {len(rep["mAPs"])} times with '
                  f'different seeds: mAP ' + ', '.join(f'{v:.4f}' for v in rep['mAPs']) +
                  f' ({std}range {rep["range"]:.4f}). Candidates closer than about twice this std are not '
                  'ordered by one training each.']
    return lines


def write_structural_report(search, study) -> Dict[str, Path]:
    """Write the search's outputs in its work dir.

    Args:
        search: the :class:`~smnas.search.structural.StructuralSearch`.
        study: its Optuna study.

    Returns:
        Paths of ``report.md``, ``pareto.png``, ``trials.csv`` and the C-model configs.
    """
    wd = Path(search.work_dir)
    rows = _rows(study)
    done = [r for r in rows if r['state'] == 'complete']
    pts = [(r['arch'], r['mAP'], r['latency_ms']) for r in done]
    front = pareto_front(pts)
    picks = spread_along(front, 6)
    write_csv(wd / 'trials.csv', rows, COLUMNS)
    out = dict(trials_csv=wd / 'trials.csv', report=wd / 'report.md', pareto=wd / 'pareto.png')
    if done:
        _plot(rows, front, picks, out['pareto'])
    models = wd / 'models'
    models.mkdir(exist_ok=True)
    for i, p in enumerate(picks):
        # The full training config of the candidate, as the search trained it.
        cfg = search.candidate_config(Candidate.parse(p[0]))
        cfg.dump(str(models / f'C{i}.py'))
        out[f'C{i}'] = models / f'C{i}.py'

    meta = study.user_attrs.get('meta', {})
    ref = search.status(study)['hv_ref']
    failed = [r for r in rows if r['state'] == 'failed']
    by_arch = {r['arch']: r for r in rows}
    lines = [
        '# SM-NAS structural search', '',
        f'- config: `{search.cfg.filename}`', f'- work dir: `{wd}`', f'- storage: `{search.storage}`',
        f'- written: {time.strftime("%Y-%m-%d %H:%M:%S")}',
        f'- seed: {search.opts["seed"]}, NSGA-II population {search.opts["population_size"]}',
        f'- space: {search.space.explain_count()}',
        f'- input scale: {search.space.input_scale} (proxy inputs when < 1)',
        f'- evaluated architectures: {len(done)} complete, {len(failed)} failed; '
        f'{len(study.get_trials(deepcopy=False))} Optuna trials in all (repeats pruned, not retrained)',
        f'- Pareto front: {len(front)} models; hypervolume {hypervolume_2d(front, ref) if ref else 0:.3f} '
        f'(reference: latency {ref or 0:.1f} ms, mAP 0)',
        f'- device: {done[0]["device"] if done else "n/a"}; latency is the median of repeated '
        f'batch-1 runs of the whole detector after warm-up, measured while {search.workers} '
        f'worker(s) ran on this machine',
        f'- versions: {meta.get("versions", {})}', '',
        '## Selected models (spread along the front)', '',
    ]
    if len(front) < 6:
        lines.append(f'The front has {len(front)} models, so {len(picks)} are selected (fewer than six).')
        lines.append('')
    lines += ['mAP ± its standard error from a bootstrap over the val images (one training each; '
              'seed-to-seed noise comes on top): candidates closer than about two of these are not '
              'ordered by this search.', '']
    lines += ['| model | architecture | input | mAP ± SE | mAP@0.5 | latency (ms) | GFLOPs | params (M) '
              '| config |',
              '|---|---|---|---|---|---|---|---|---|']
    for i, p in enumerate(picks):
        r = by_arch[p[0]]
        se = f' ± {r["mAP_se"]:.4f}' if r['mAP_se'] != '' else ''
        lines.append(f'| C{i} | `{r["arch"]}` | {r["input_size"]} | {r["mAP"]:.4f}{se} | {r["mAP_50"]:.4f} | '
                     f'{r["latency_ms"]:.1f} | {r["gflops"]} | {r["mparams"]} | `models/C{i}.py` |')
    lines += fidelity_lines(wd)
    lines += ['', '![pareto](pareto.png)', '', '## All evaluated architectures', '',
              '| architecture | state | mAP | latency (ms) | GFLOPs | duplicates | error |',
              '|---|---|---|---|---|---|---|']
    for r in rows:
        m = f'{r["mAP"]:.4f}' if r['mAP'] != '' else ''
        m += f' ± {r["mAP_se"]:.4f}' if r['mAP_se'] != '' else ''
        lat = f'{r["latency_ms"]:.1f}' if r['latency_ms'] != '' else ''
        lines.append(f'| `{r["arch"]}` | {r["state"]} | {m} | {lat} | {r["gflops"]} | '
                     f'{r["duplicates"]} | {str(r["error"])[:120]} |')
    atomic_write_text(out['report'], '\n'.join(lines) + '\n')
    return out
