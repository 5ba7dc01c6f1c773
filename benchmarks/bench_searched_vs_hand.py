"""Searched against hand-designed: retrained finalists vs standard FPN Faster R-CNNs.

Takes a subnet search whose finalists were retrained (``tools/retrain.py`` or the
pipeline) and trains hand-designed detectors on the same data, input and schedule as
the finalists' retraining: ResNet-18 and ResNet-34 FPN Faster R-CNN at their standard
widths (FPN 256, 2-fc head 1024, GN + WS from scratch). Prints and writes a
mAP-versus-FLOPs table saying which points dominate which, and a plot.

    python benchmarks/bench_searched_vs_hand.py work_dirs/quickstart/search
    python benchmarks/bench_searched_vs_hand.py SEARCH_WORK_DIR --baselines r18 r34 r50

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


def main():
    from smnas.search.trial import TrialFailed, run_trial_subprocess

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('search_dir', help='work dir of a subnet search with retrained finalists')
    p.add_argument('--baselines', nargs='+', default=['r18', 'r34'])
    p.add_argument('--timeout', type=float)
    p.add_argument('--json', help='also write the results here, and the plot beside it as .png '
                                  '(e.g. benchmarks/results_searched_vs_hand_bccd.json)')
    args = p.parse_args()
    wd = Path(args.search_dir)
    finalists = [f for f in (load_finalists(wd) or []) if f.get('mAP_retrained') is not None]
    if not finalists:
        raise SystemExit(f'{wd} has no retrained finalists: run tools/retrain.py {wd} first')
    num_classes = _num_classes(retrain_config(finalists[0]).model)
    points = [dict(name=f['name'], kind='searched', arch=f['arch'], mAP=f['mAP_retrained'],
                   mAP_50=f.get('mAP_50_retrained'), gflops=f['gflops_thop'], params_m=f['params'],
                   latency_ms=f['latency_ms']) for f in finalists]
    for bb in args.baselines:
        cfg = baseline_config(finalists[0], bb, num_classes)
        print(f'[hand] {cfg.candidate["arch"]}', flush=True)
        try:
            res = run_trial_subprocess(cfg, wd / 'hand_designed' / bb, args.timeout)
        except TrialFailed as e:
            print(f'[hand] {bb} failed: {e}', flush=True)
            continue
        points.append(dict(name=bb.upper(), kind='hand-designed', arch=cfg.candidate['arch'], mAP=res['mAP'],
                           mAP_50=res['mAP_50'], gflops=res['flops'] / 1e9, params_m=res['params'] / 1e6,
                           latency_ms=res['latency_ms']))
    dom = dominance(points)
    lines = ['| model | kind | architecture | GFLOPs | params (M) | latency (ms) | mAP | dominated by |',
             '|---|---|---|---|---|---|---|---|']
    for pt in sorted(points, key=lambda q: q['gflops']):
        lines.append(f'| {pt["name"]} | {pt["kind"]} | `{pt["arch"]}` | {pt["gflops"]:.3f} | '
                     f'{pt["params_m"]:.2f} | {pt["latency_ms"]:.1f} | {pt["mAP"]:.4f} | '
                     f'{", ".join(dom[pt["name"]]) or "none"} |')
    table = '\n'.join(lines)
    print(table)
    title = '# Searched vs hand-designed (same data, input, schedule)'
    atomic_write_text(wd / 'searched_vs_hand.md', f'{title}\n\n{table}\n')
    out = dict(points=points, dominated_by=dom, search_dir=str(wd),
               schedule=dict(iters=finalists[0].get('retrain_iters'),
                             overrides=finalists[0].get('retrain_overrides')),
               input_size=finalists[0]['input_size'], versions=collect_env_versions())
    atomic_write_json(wd / 'searched_vs_hand.json', out, indent=1)
    if args.json:
        atomic_write_json(args.json, out, indent=1)
    fig, ax = new_figure(figsize=(7, 4.5), dpi=120)
    for kind, style in (('searched', 'o-'), ('hand-designed', 's')):
        pts = sorted((q for q in points if q['kind'] == kind), key=lambda q: q['gflops'])
        ax.plot([q['gflops'] for q in pts], [q['mAP'] for q in pts], style, label=kind)
        for q in pts:
            ax.annotate(q['name'], (q['gflops'], q['mAP']), textcoords='offset points', xytext=(4, 4))
    style_axes(ax, 'GFLOPs (whole detector)', 'val bbox mAP (trained from scratch)', legend_size=None)
    save_figure(fig, wd / 'searched_vs_hand.png')
    if args.json:
        shutil.copyfile(wd / 'searched_vs_hand.png', Path(args.json).with_suffix('.png'))
    print(f'written: {wd / "searched_vs_hand.md"}', flush=True)


if __name__ == '__main__':
    main()
