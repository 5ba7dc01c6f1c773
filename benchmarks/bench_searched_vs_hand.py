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

Results: ``<search work dir>/searched_vs_hand.{json,md,png}``; every training is
stored, so a rerun resumes.
"""
import argparse
import shutil
from pathlib import Path

from smnas.modular.finalists import load_finalists, retrain_config
from smnas.reports.plots import new_figure, save_figure, style_axes
from smnas.utils import atomic_write_json, atomic_write_text, collect_env_versions


def baseline_config(finalist: dict, backbone: str, num_classes: int):
    """The finalist's retraining config with the model replaced by a standard
    ``<backbone>`` FPN Faster R-CNN (same data, input size and schedule, overrides
    included)."""
    from smnas.structural import Candidate
    from smnas.structural.builder import build_model_cfg

    cfg = retrain_config(finalist, finalist.get('retrain_overrides'), finalist.get('retrain_iters'))
    w, h = finalist['input_size']
    arch = f'{backbone}_fpn-p2p5-p6_rpn_rcnn_{w}x{h}'
    model = build_model_cfg(Candidate.parse(arch), num_classes, fpn_channels=256, fc_channels=1024)
    model['test_cfg'] = cfg.model.get('test_cfg', model['test_cfg'])  # the same score threshold
    cfg.model = model
    cfg.candidate = dict(arch=arch, input_size=[w, h])
    return cfg


def _num_classes(model) -> int:
    head = model.roi_head.bbox_head if 'roi_head' in model else model.bbox_head
    return int((head[0] if isinstance(head, (list, tuple)) else head).num_classes)


def dominance(points: list) -> dict:
    """name -> names of the points that dominate it (no less accurate, no more FLOPs,
    better in one)."""
    out = {}
    for a in points:
        out[a['name']] = [b['name'] for b in points if b is not a and b['mAP'] >= a['mAP'] and
                          b['gflops'] <= a['gflops'] and (b['mAP'] > a['mAP'] or b['gflops'] < a['gflops'])]
    return out


def seed_runs(point: dict, seeds: int, cfg, run_dir: Path, timeout) -> None:
    """Train ``point`` again with seeds 1..``seeds``-1 (``cfg`` with another seed, in
    ``<run_dir>_seed<k>``; stored runs are reused) and set its mAP to the mean over its
    seeds, with their std.

    Args:
        point: a table row whose ``mAP`` is its seed-0 training's.
        seeds: how many seeds in all.
        cfg: the seed-0 training's config.
        run_dir: the seed-0 training's folder.
        timeout: seconds per training.
    """
    import copy
    import statistics

    from smnas.engine import with_seed
    from smnas.search.trial import TrialFailed, run_trial_subprocess

    maps = {'0': point['mAP']}
    for seed in range(1, seeds):
        print(f'[hand] {point["name"]}: seed {seed}', flush=True)
        try:
            seed_dir = run_dir.with_name(f'{run_dir.name}_seed{seed}')
            res = run_trial_subprocess(with_seed(copy.deepcopy(cfg), seed), seed_dir, timeout)
            maps[str(seed)] = res['mAP']
        except TrialFailed as e:
            print(f'[hand] {point["name"]} seed {seed} failed: {e}', flush=True)
    point.update(mAP_by_seed=maps, mAP=statistics.fmean(maps.values()),
                 mAP_std=statistics.stdev(maps.values()) if len(maps) > 1 else None)


def main():
    from smnas.search.trial import TrialFailed, run_trial_subprocess

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('search_dir', help='work dir of a subnet search with retrained finalists')
    p.add_argument('--baselines', nargs='+', default=['r18', 'r34'])
    p.add_argument('--seeds', type=int, default=1,
                   help='train every model with this many seeds and compare their mean mAPs '
                        '(the finalists\' retraining is seed 0)')
    p.add_argument('--timeout', type=float)
    p.add_argument('--json', help='also write the results here, and the plot beside it as .png '
                                  '(e.g. benchmarks/results_searched_vs_hand_bccd.json)')
    args = p.parse_args()
    wd = Path(args.search_dir)
    finalists = [f for f in (load_finalists(wd) or []) if f.get('mAP_retrained') is not None]
    if not finalists:
        raise SystemExit(f'{wd} has no retrained finalists: run tools/retrain.py {wd} first')
    num_classes = _num_classes(retrain_config(finalists[0]).model)
    runs = []  # (row, its seed-0 config, its seed-0 folder)
    for f in finalists:
        runs.append((dict(name=f['name'], kind='searched', arch=f['arch'], mAP=f['mAP_retrained'],
                          mAP_50=f.get('mAP_50_retrained'), gflops=f['gflops_thop'], params_m=f['params'],
                          latency_ms=f['latency_ms']),
                     retrain_config(f, f.get('retrain_overrides'), f.get('retrain_iters')),
                     wd / 'finalists' / f['name'] / 'retrain'))  # where tools/retrain.py trained it
    for bb in args.baselines:
        cfg, run_dir = baseline_config(finalists[0], bb, num_classes), wd / 'hand_designed' / bb
        print(f'[hand] {cfg.candidate["arch"]}', flush=True)
        try:
            res = run_trial_subprocess(cfg, run_dir, args.timeout)
        except TrialFailed as e:
            print(f'[hand] {bb} failed: {e}', flush=True)
            continue
        runs.append((dict(name=bb.upper(), kind='hand-designed', arch=cfg.candidate['arch'], mAP=res['mAP'],
                          mAP_50=res['mAP_50'], gflops=res['flops'] / 1e9, params_m=res['params'] / 1e6,
                          latency_ms=res['latency_ms']), cfg, run_dir))
    for pt, cfg, run_dir in runs:  # every model's seed 0 first: a one-seed table exists early
        seed_runs(pt, args.seeds, cfg, run_dir, args.timeout)
    points = [pt for pt, _, _ in runs]
    dom = dominance(points)
    noise = args.seeds > 1
    lines = ['| model | kind | architecture | GFLOPs | params (M) | latency (ms) | mAP'
             + (f' (mean of {args.seeds} seeds) | std' if noise else '') + ' | dominated by |',
             '|---|---|---|---|---|---|---|' + ('---|' if noise else '') + '---|']
    for pt in sorted(points, key=lambda q: q['gflops']):
        std = (f' {pt["mAP_std"]:.4f} |' if pt.get('mAP_std') is not None else ' - |') if noise else ''
        lines.append(f'| {pt["name"]} | {pt["kind"]} | `{pt["arch"]}` | {pt["gflops"]:.3f} | '
                     f'{pt["params_m"]:.2f} | {pt["latency_ms"]:.1f} | {pt["mAP"]:.4f} |{std} '
                     f'{", ".join(dom[pt["name"]]) or "none"} |')
    table = '\n'.join(lines)
    print(table)
    title = '# Searched vs hand-designed (same data, input, schedule)'
    atomic_write_text(wd / 'searched_vs_hand.md', f'{title}\n\n{table}\n')
    out = dict(points=points, dominated_by=dom, seeds=args.seeds, search_dir=str(wd),
               schedule=dict(iters=finalists[0].get('retrain_iters'),
                             overrides=finalists[0].get('retrain_overrides')),
               input_size=finalists[0]['input_size'], versions=collect_env_versions())
    atomic_write_json(wd / 'searched_vs_hand.json', out, indent=1)
    if args.json:
        atomic_write_json(args.json, out, indent=1)
    fig, ax = new_figure(figsize=(7, 4.5), dpi=120)
    for kind, style in (('searched', 'o-'), ('hand-designed', 's')):
        pts = sorted((q for q in points if q['kind'] == kind), key=lambda q: q['gflops'])
        ax.errorbar([q['gflops'] for q in pts], [q['mAP'] for q in pts], fmt=style, label=kind, capsize=3,
                    yerr=[q.get('mAP_std') or 0.0 for q in pts] if noise else None)
        for q in pts:
            ax.annotate(q['name'], (q['gflops'], q['mAP']), textcoords='offset points', xytext=(4, 4))
    style_axes(ax, 'GFLOPs (whole detector)', 'val bbox mAP (trained from scratch)', legend_size=None)
    save_figure(fig, wd / 'searched_vs_hand.png')
    if args.json:
        shutil.copyfile(wd / 'searched_vs_hand.png', Path(args.json).with_suffix('.png'))
    print(f'written: {wd / "searched_vs_hand.md"}', flush=True)


if __name__ == '__main__':
    main()
