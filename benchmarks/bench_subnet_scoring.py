"""Scoring subnets with inherited weights: batch size, successive halving, overhead.

On one trained supernet and N random subnets (seeded), in one run:

1. **batch size**: each subnet scored on the val set at batch 1 and at batch B (default
   8): the mAP difference (padding to a common size can change borders) and the time;
2. **overhead**: the pure forward of the same images at batch B (pre-processing and the
   network's tensor path, no post-processing, no COCO evaluation), and the same with the
   detector's post-processing (``test_step``), against scoring;
3. **successive halving**: each subnet also scored on the search's screening subset.
   The search's rule (:meth:`smnas.search.subnet.SubnetSearch.screen_bar`) is replayed
   over R random orders of the subnets: how often the front differs from the front of
   scoring every subnet in full, and the fraction of val images scored.

    python benchmarks/bench_subnet_scoring.py CONFIG CHECKPOINT --json benchmarks/results/subnet_scoring.json
    python benchmarks/bench_subnet_scoring.py CONFIG CHECKPOINT --subnets 6 --orders 20   # reduced

``--val-images N`` regenerates a synthetic val set of N images with the config's own
generator parameters (the same first images: one seeded stream per split).
"""
import argparse
import contextlib
import io
import random
import statistics
import time
from pathlib import Path

import torch

from smnas.benchmarks.store import JsonStore
from smnas.benchmarks.timing import ends_and_random
from smnas.data.prepare import prepare_data
from smnas.engine import read_config
from smnas.evaluation.inherited import InheritedEvaluator
from smnas.search.pareto import pareto_front
from smnas.search.subnet import SUBNET_DEFAULTS, val_input_size
from smnas.utils import collect_env_versions


def more_val_images(cfg, n: int) -> None:
    """Point the config's val split at a synthetic set with ``n`` val images."""
    spec = dict(cfg.prepare_data)
    if spec.get('type') != 'synthetic':
        raise SystemExit('--val-images needs a config whose data is synthetic (prepare_data.type)')
    out = f'{spec["out"].rstrip("/")}_val{n}'
    spec.update(out=out, num_val=n)
    prepare_data(spec)
    cfg.val_dataloader.dataset.data_root = out + '/'
    cfg.val_evaluator.ann_file = out + '/annotations/instances_val.json'


def forward_seconds(ev: InheritedEvaluator, subnet: str) -> tuple:
    """Over the val set: (pure forward time: pre-processing and the network's tensor
    path; predict time: the same plus the detector's post-processing, i.e. test_step)."""
    model = ev.model
    forward = predict = 0.0
    with model.mutator.use(subnet), torch.no_grad():
        for batch in ev.runner.val_loop.dataloader:
            t0 = time.perf_counter()
            data = model.data_preprocessor(batch, False)
            model(**data, mode='tensor')
            t1 = time.perf_counter()
            model.test_step(batch)
            forward += t1 - t0
            predict += time.perf_counter() - t1
    return forward, predict


def timed(fn, *args, **kw):
    """``(fn(...), seconds)``; pycocotools' prints to stdout are dropped."""
    t0 = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):
        out = fn(*args, **kw)
    return out, time.perf_counter() - t0


def replay_screening(rows: dict, order: list, margin_floor: float, total: int, subset: int) -> dict:
    """The search's screening rule over ``order``: which subnets are scored in full,
    and the resulting front of (value, FLOPs)."""
    full, values, gap, images = set(), {}, margin_floor, 0
    for a in order:
        r = rows[a]
        bar = max((r2['mAP'] for b, r2 in rows.items() if b in full and r2['gflops'] <= r['gflops']),
                  default=float('-inf'))
        images += subset
        if r['mAP_screen'] + gap >= bar:
            full.add(a)
            values[a] = r['mAP']
            images += total
            gap = max(gap, abs(r['mAP_screen'] - r['mAP']))
        else:
            values[a] = r['mAP_screen']
    front = [p[0] for p in pareto_front([(a, values[a], rows[a]['gflops']) for a in order])]
    return dict(front=front, full=len(full), images=images)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('config')
    p.add_argument('checkpoint')
    p.add_argument('--subnets', type=int, default=24)
    p.add_argument('--batch', type=int, default=8)
    p.add_argument('--batch1-subnets', type=int, default=6,
                   help='subnets also scored at batch 1 (the first ones; slow)')
    p.add_argument('--orders', type=int, default=100, help='random orders the screening is replayed over')
    p.add_argument('--screen-fraction', type=float, default=0.25,
                   help="the screening subset replayed (the search's subnet_search.screen_fraction, off by "
                        'default there)')
    p.add_argument('--val-images', type=int, help='a synthetic val set of this many images')
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--work-dir', default='benchmarks/runs/subnet_scoring')
    p.add_argument('--json', help='results (and record: scored subnets are not scored again)')
    args = p.parse_args()

    cfg = read_config(args.config)
    prepare_data(cfg.get('prepare_data'))
    if args.val_images:
        more_val_images(cfg, args.val_images)
    store = JsonStore(args.json or Path(args.work_dir) / 'subnet_scoring.json')
    ev1 = InheritedEvaluator(cfg, args.checkpoint, args.work_dir + '/b1', batch_size=1)
    evb = InheritedEvaluator(cfg, args.checkpoint, args.work_dir + '/bB', batch_size=args.batch)
    from supernet.flops import FlopsTable
    table = FlopsTable(evb.model, val_input_size(cfg))
    total = evb.num_images
    subset = int(total * args.screen_fraction)
    subnets = ends_and_random(evb.space, args.subnets, args.seed)
    with store.update() as s:
        s.update(config=args.config, checkpoint=args.checkpoint, val_images=total, batch=args.batch,
                 screen_images=subset, seed=args.seed, threads=torch.get_num_threads(),
                 versions=collect_env_versions())
        s.setdefault('subnets', {})
    for i, a in enumerate(subnets):
        if a in store.read()['subnets']:
            continue
        mb, tb = timed(evb.evaluate, a)
        ms, ts = timed(evb.evaluate, a, images=subset)
        tf, tp = forward_seconds(evb, a)
        row = dict(gflops=table.flops(a) / 1e9, mAP=mb['mAP'], mAP_screen=ms['mAP'],
                   seconds=tb, seconds_screen=ts, forward_seconds=tf, predict_seconds=tp)
        if i < args.batch1_subnets:
            m1, t1 = timed(ev1.evaluate, a)
            row.update(mAP_batch1=m1['mAP'], seconds_batch1=t1)
        with store.update() as s:
            s['subnets'][a] = row
        b1 = (f'batch 1 {row["mAP_batch1"]:.4f} in {row["seconds_batch1"]:5.1f} s, '
              if 'mAP_batch1' in row else '')
        print(f'[{i + 1}/{len(subnets)}] {a:30s} {row["gflops"]:6.2f} G | mAP {b1}batch {args.batch} '
              f'{mb["mAP"]:.4f} in {tb:5.1f} s (forward {tf:5.1f} s, with post-processing {tp:5.1f} s), '
              f'subset {ms["mAP"]:.4f}', flush=True)

    state = store.read()
    rows = {a: state['subnets'][a] for a in subnets}
    both = [r for r in rows.values() if 'mAP_batch1' in r]
    diffs = [r['mAP'] - r['mAP_batch1'] for r in both]
    true_front = [p[0] for p in pareto_front([(a, r['mAP'], r['gflops']) for a, r in rows.items()])]
    orng = random.Random(args.seed)
    replays = []
    for _ in range(args.orders):
        order = list(rows)
        orng.shuffle(order)
        replays.append(replay_screening(rows, order, SUBNET_DEFAULTS['screen_margin'], total, subset))
    changed = sum(sorted(r['front']) != sorted(true_front) for r in replays)
    summary = dict(
        subnets=len(rows),
        batch_mAP_diff=dict(subnets=len(both), mean=statistics.fmean(diffs),
                            max_abs=max(abs(d) for d in diffs), std=statistics.pstdev(diffs)),
        batch1_over_batch=sum(r['seconds_batch1'] for r in both) / sum(r['seconds'] for r in both),
        scoring_over_forward=sum(r['seconds'] for r in rows.values()) /
        sum(r['forward_seconds'] for r in rows.values()),
        scoring_over_predict=sum(r['seconds'] for r in rows.values()) /
        sum(r['predict_seconds'] for r in rows.values()),
        screening=dict(orders=len(replays), front_changed=changed,
                       front_changed_fraction=changed / len(replays),
                       fully_scored_fraction=statistics.fmean(r['full'] for r in replays) / len(rows),
                       images_fraction=statistics.fmean(r['images'] for r in replays) / (total * len(rows)),
                       subset_abs_diff_max=max(abs(r['mAP_screen'] - r['mAP']) for r in rows.values())),
        true_front=true_front)
    with store.update() as s:
        s['summary'] = summary
    d, sc = summary['batch_mAP_diff'], summary['screening']
    print(f'batch {args.batch} vs 1: mAP differs by {d["mean"]:+.4f} on average '
          f'(largest {d["max_abs"]:.4f}); '
          f'scoring is {summary["batch1_over_batch"]:.2f}x faster; scoring takes '
          f'{summary["scoring_over_forward"]:.2f}x the pure forward (goal <= 1.2x) and '
          f'{summary["scoring_over_predict"]:.2f}x forward + post-processing (test_step)')
    print(f'screening on {subset}/{total} images: {sc["fully_scored_fraction"]:.0%} of subnets scored in '
          f'full, '
          f'{sc["images_fraction"]:.0%} of the images of full scoring; the front differs from full '
          f'scoring\'s in {changed}/{len(replays)} orders (largest subset-vs-full gap '
          f'{sc["subset_abs_diff_max"]:.4f})')


if __name__ == '__main__':
    main()
