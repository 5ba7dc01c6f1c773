"""Searched against hand-designed: retrained finalists vs standard FPN Faster R-CNNs.

Takes a subnet search whose finalists were retrained (``tools/retrain.py`` or the
pipeline) and trains hand-designed detectors on the same data, input and schedule as
the finalists' retraining: ResNet-18 and ResNet-34 FPN Faster R-CNN at their standard
widths (FPN 256, 2-fc head 1024, GN + WS from scratch). Prints and writes a
mAP-versus-FLOPs table saying which points dominate which, and a plot. With
``--seeds K`` every model is trained K times and compared by its mean mAP (std in
the table and as error bars): one training's mAP can be as noisy as the gaps.

    python benchmarks/bench_searched_vs_hand.py work_dirs/quickstart/search
    python benchmarks/bench_searched_vs_hand.py SEARCH_WORK_DIR --baselines r18 r34 r50
    python benchmarks/bench_searched_vs_hand.py SEARCH_WORK_DIR --seeds 3
    # chosen subnets (e.g. an earlier search's finalists), no search dir needed:
    python benchmarks/bench_searched_vs_hand.py WORK_DIR --config configs/supernet/bccd.py \
        --subnets 48_1-2-2-2_n128_h128 48_11-2-2-2_n128_h128 --iters 300

Results: ``<search work dir>/searched_vs_hand.{json,md,png}``, rewritten after every
training; every training is stored, so a rerun resumes. With ``--json`` the results
file is also a record: a rerun on a new machine (the search work dir gone, the finalists
given again with ``--subnets``) reuses every model and seed it holds
that trained with the same schedule and input, and finalists not yet retrained are
trained here (``--iters``).
"""
import argparse
import copy
import dataclasses
import json
import shutil
import statistics
from pathlib import Path

from mmengine.config import DictAction

from smnas.modular.finalists import load_finalists, retrain_config
from smnas.records import Finalist
from smnas.reports.plots import new_figure, save_figure, style_axes
from smnas.search.pareto import dominated_by
from smnas.utils import atomic_write_json, atomic_write_text, collect_env_versions


def baseline_config(finalist: Finalist, backbone: str, num_classes: int):
    """The finalist's retraining config with the model replaced by a standard
    ``<backbone>`` FPN Faster R-CNN (same data, input size and schedule, overrides
    included)."""
    from smnas.structural import Candidate
    from smnas.structural.builder import build_model_cfg

    cfg = retrain_config(finalist, finalist.retrain_overrides, finalist.retrain_iters)
    w, h = finalist.input_size
    arch = f'{backbone}_fpn-p2p5-p6_rpn_rcnn_{w}x{h}'
    model = build_model_cfg(Candidate.parse(arch), num_classes, fpn_channels=256, fc_channels=1024)
    model['test_cfg'] = cfg.model.get('test_cfg', model['test_cfg'])  # the same score threshold
    cfg.model = model
    cfg.candidate = dict(arch=arch, input_size=[w, h])
    return cfg


def _num_classes(model) -> int:
    head = model.roi_head.bbox_head if 'roi_head' in model else model.bbox_head
    return int((head[0] if isinstance(head, (list, tuple)) else head).num_classes)


def load_record(path, schedule: dict, input_size) -> dict:
    """The trainings an earlier results file holds, if they trained with ``schedule`` on
    ``input_size``: ``{(name, arch): {seed: run}}`` (a run: mAP, mAP_50, gflops,
    params_m, latency_ms)."""
    if not path or not Path(path).is_file():
        return {}
    rec = json.loads(Path(path).read_text())
    if rec.get('schedule') != schedule or list(rec.get('input_size') or []) != list(input_size):
        print(f'[hand] {path} trained with {rec.get("schedule")} at {rec.get("input_size")}, not '
              f'{schedule} at {list(input_size)}: nothing reused', flush=True)
        return {}
    out = {}
    for pt in rec.get('points', []):
        runs = pt.get('runs')
        if runs is None:  # a record of one seed, from before runs were stored
            runs = {'0': {k: pt.get(k) for k in ('mAP', 'mAP_50', 'gflops', 'params_m', 'latency_ms')}}
            runs['0']['mAP'] = (pt.get('mAP_by_seed') or {}).get('0', pt['mAP'])
        out[(pt['name'], pt['arch'])] = runs
    return out


def train_run(name: str, seed: int, cfg, run_dir: Path, record: dict, timeout):
    """One training of one model: reused from ``record`` or from ``run_dir`` (seed 0;
    seed k trains in ``<run_dir>_seed<k>``), else trained in its own process.

    Returns:
        The run (mAP, mAP_50, gflops, params_m, latency_ms), or None if it failed.
    """
    from smnas.engine import with_seed
    from smnas.search.trial import TrialFailed, run_trial_subprocess

    arch = cfg.candidate['arch']
    stored = record.get((name, arch), {}).get(str(seed))
    if stored is not None:
        print(f'[hand] {name} seed {seed}: recorded mAP {stored["mAP"]:.4f}', flush=True)
        return stored
    print(f'[hand] {name} {arch}: seed {seed}', flush=True)
    if seed:
        cfg, run_dir = with_seed(copy.deepcopy(cfg), seed), run_dir.with_name(f'{run_dir.name}_seed{seed}')
    try:
        res = run_trial_subprocess(cfg, run_dir, timeout)
    except TrialFailed as e:
        print(f'[hand] {name} seed {seed} failed: {e}', flush=True)
        return None
    return dict(mAP=res.mAP, mAP_50=res.mAP_50, gflops=res.flops / 1e9, params_m=res.params / 1e6,
                latency_ms=res.latency_ms, train_seconds=res.train_seconds)


def summarize(point: dict) -> dict:
    """A table row from a model's runs: its seed 0's measurements, the mean mAP over its
    seeds and their std."""
    runs = point['runs']
    maps = {k: r['mAP'] for k, r in sorted(runs.items(), key=lambda kv: int(kv[0]))}
    first = runs[min(runs, key=int)]
    return dict(point, gflops=first['gflops'], params_m=first['params_m'], latency_ms=first['latency_ms'],
                mAP_50=first.get('mAP_50'), mAP_by_seed=maps, mAP=statistics.fmean(maps.values()),
                mAP_std=statistics.stdev(maps.values()) if len(maps) > 1 else None)


def write_results(points: list, seeds: int, wd: Path, meta: dict, json_path, final: bool) -> dict:
    """Write the table, the JSON (and with ``final`` the plot) of the points so far."""
    rows = [summarize(p) for p in points if p['runs']]
    dom = dominated_by([(r['name'], r['mAP'], r['gflops']) for r in rows])
    noise = seeds > 1
    # Until every model has every seed (a run in progress, a training that failed), the
    # means are over different numbers of seeds: say so, and how many each row has.
    every = all(len(pt['runs']) == seeds for pt in rows)
    mean_of = f'mean of {seeds} seeds' if every else 'mean of the seeds trained so far'
    lines = ['| model | kind | architecture | GFLOPs | params (M) | latency (ms) | mAP'
             + (f' ({mean_of}) | std | seeds' if noise else '') + ' | dominated by |',
             '|---|---|---|---|---|---|---|' + ('---|---|' if noise else '') + '---|']
    for pt in sorted(rows, key=lambda q: q['gflops']):
        std = ((f' {pt["mAP_std"]:.4f} |' if pt.get('mAP_std') is not None else ' - |')
               + f' {len(pt["runs"])} |') if noise else ''
        lines.append(f'| {pt["name"]} | {pt["kind"]} | `{pt["arch"]}` | {pt["gflops"]:.3f} | '
                     f'{pt["params_m"]:.2f} | {pt["latency_ms"]:.1f} | {pt["mAP"]:.4f} |{std} '
                     f'{", ".join(dom[pt["name"]]) or "none"} |')
    table = '\n'.join(lines)
    title = '# Searched vs hand-designed (same data, input, schedule)'
    atomic_write_text(wd / 'searched_vs_hand.md', f'{title}\n\n{table}\n')
    out = dict(points=rows, dominated_by=dom, seeds=seeds, complete=final, **meta)
    atomic_write_json(wd / 'searched_vs_hand.json', out, indent=1)
    if json_path:
        atomic_write_json(json_path, out, indent=1)
    if not final:
        return out
    print(table)
    fig, ax = new_figure(figsize=(7, 4.5), dpi=120)
    for kind, style in (('searched', 'o-'), ('hand-designed', 's')):
        pts = sorted((q for q in rows if q['kind'] == kind), key=lambda q: q['gflops'])
        ax.errorbar([q['gflops'] for q in pts], [q['mAP'] for q in pts], fmt=style, label=kind, capsize=3,
                    yerr=[q.get('mAP_std') or 0.0 for q in pts] if noise else None)
        for q in pts:
            ax.annotate(q['name'], (q['gflops'], q['mAP']), textcoords='offset points', xytext=(4, 4))
    style_axes(ax, 'GFLOPs (whole detector)', 'val bbox mAP (trained from scratch)', legend_size=None)
    save_figure(fig, wd / 'searched_vs_hand.png')
    if json_path:
        shutil.copyfile(wd / 'searched_vs_hand.png', Path(json_path).with_suffix('.png'))
    print(f'written: {wd / "searched_vs_hand.md"}', flush=True)
    return out


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('search_dir', help='work dir of a subnet search (or of tools/retrain.py --subnets) with '
                                      'finalists')
    p.add_argument('--baselines', nargs='+', default=['r18', 'r34'])
    p.add_argument('--seeds', type=int, default=1,
                   help='train every model with this many seeds and compare their mean mAPs '
                        '(the finalists\' retraining is seed 0)')
    p.add_argument('--iters', type=int,
                   help='schedule of finalists not yet retrained (the supernet\'s rescaled, as '
                        'tools/retrain.py --iters); default: as the retrained ones, else as is')
    p.add_argument('--timeout', type=float)
    p.add_argument('--json', help='also write the results here, and the plot beside it as .png '
                                  '(e.g. benchmarks/results_searched_vs_hand_bccd.json); a record that '
                                  'a rerun reuses')
    p.add_argument('--subnets', nargs='+',
                   help='compare these subnets (E0, E1... in this order; trained here) instead of a '
                        'search\'s finalists; needs --config')
    p.add_argument('--config', help='with --subnets: the supernet config of their space, data and schedule')
    p.add_argument('--cfg-options', nargs='+', action=DictAction,
                   help='with --subnets: override --config keys')
    args = p.parse_args()
    wd = Path(args.search_dir)
    if args.subnets:
        if not args.config:
            raise SystemExit('--subnets needs --config (the supernet config of their space)')
        from smnas.data.prepare import prepare_data
        from smnas.engine import read_config
        from smnas.modular.finalists import finalists_from_subnets

        cfg = read_config(args.config, args.cfg_options)
        prepare_data(cfg.get('prepare_data'))
        finalists_from_subnets(cfg, args.subnets, wd)
    finalists = load_finalists(wd)
    if not finalists:
        raise SystemExit(f'{wd} has no finalists: run tools/search_subnet.py, or tools/retrain.py '
                         f'{wd} --config CONFIG --subnets ..., first')
    retrained = [f for f in finalists if f.retrained]
    iters = retrained[0].retrain_iters if retrained else args.iters
    overrides = retrained[0].retrain_overrides if retrained else {}
    if args.iters and iters != args.iters:
        raise SystemExit(f'the finalists in {wd} were retrained for {iters} iterations, not --iters '
                         f'{args.iters}: every model trains with one schedule')
    meta = dict(search_dir=str(wd), schedule=dict(iters=iters, overrides=overrides or {}),
                input_size=finalists[0].input_size, versions=collect_env_versions())
    record = load_record(args.json, meta['schedule'], meta['input_size'])
    first = dataclasses.replace(finalists[0], retrain_iters=iters, retrain_overrides=overrides)
    num_classes = _num_classes(retrain_config(first).model)
    models = []  # (row, its seed-0 config, its seed-0 folder)
    for f in finalists:
        row = dict(name=f.name, kind='searched', arch=f.arch, runs={})
        if f.retrained:  # tools/retrain.py trained its seed 0
            row['runs']['0'] = dict(mAP=f.mAP_retrained, mAP_50=f.mAP_50_retrained, gflops=f.gflops_thop,
                                    params_m=f.params, latency_ms=f.latency_ms, train_seconds=f.train_seconds)
        models.append((row, retrain_config(f, overrides, iters),
                       wd / 'finalists' / f.name / 'retrain'))  # where tools/retrain.py trains it
    for bb in args.baselines:
        cfg = baseline_config(first, bb, num_classes)
        models.append((dict(name=bb.upper(), kind='hand-designed', arch=cfg.candidate['arch'], runs={}), cfg,
                       wd / 'hand_designed' / bb))
    # One seed over every model at a time: a one-seed table exists early.
    for seed in range(args.seeds):
        for row, cfg, run_dir in models:
            if str(seed) in row['runs'] or (seed and '0' not in row['runs']):
                continue
            run = train_run(row['name'], seed, cfg, run_dir, record, args.timeout)
            if run is not None:
                row['runs'][str(seed)] = run
                write_results([m[0] for m in models], args.seeds, wd, meta, args.json, final=False)
    write_results([m[0] for m in models], args.seeds, wd, meta, args.json, final=True)


if __name__ == '__main__':
    main()
