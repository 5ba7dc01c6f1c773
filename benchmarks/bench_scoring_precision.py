"""Inherited-weight scoring in bf16 against fp32: speed, scores and ranks, side by side.

On one trained supernet and N subnets spread over its FLOPs range (min and max included,
seeded), each subnet is scored on the whole val set once per precision, the precisions'
order alternating from subnet to subnet (a slow spell of the machine then hits both
alike). Reported: the scoring time ratio, how far each subnet's mAP moves (mean, largest,
against the spread of the scores), and Kendall tau / Spearman rho between the two
rankings with bootstrap 95% intervals over the subnets.

    python benchmarks/bench_scoring_precision.py CONFIG CHECKPOINT --subnets 16 \\
        --json benchmarks/results/scoring_precision.json
    python benchmarks/bench_scoring_precision.py CONFIG CHECKPOINT --subnets 4     # reduced

The JSON is also a record: a rerun scores only the subnets it lacks.
"""
import argparse
import contextlib
import io
import random
import statistics
import time
from pathlib import Path

import torch

from smnas.benchmarks.stats import rank_agreement
from smnas.benchmarks.store import JsonStore
from smnas.data.prepare import prepare_data
from smnas.engine import read_config
from smnas.evaluation.inherited import PRECISIONS, InheritedEvaluator
from smnas.search.pareto import spread_subnets
from smnas.search.subnet import val_input_size
from smnas.utils import collect_env_versions


def timed_score(ev: InheritedEvaluator, subnet: str) -> tuple:
    """``(mAP, seconds)`` of one scoring pass; pycocotools' prints are dropped."""
    t0 = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):
        m = ev.evaluate(subnet)['mAP']
    return m, time.perf_counter() - t0


def summarize(rows: dict, base: str, other: str) -> dict:
    """Time ratio, score moves and rank agreement of ``other`` against ``base``."""
    archs = list(rows)
    x = [rows[a][base]['mAP'] for a in archs]
    y = [rows[a][other]['mAP'] for a in archs]
    diffs = [b - a for a, b in zip(x, y)]
    agree = rank_agreement(x, y) if len(archs) >= 3 else {}
    return dict(
        subnets=len(archs),
        seconds=sum(rows[a][base]['seconds'] for a in archs) / sum(rows[a][other]['seconds'] for a in archs),
        mAP_diff_mean=statistics.fmean(diffs), mAP_diff_max_abs=max(abs(d) for d in diffs),
        mAP_spread=max(x) - min(x), mAP_std=statistics.pstdev(x),
        **{k: agree[k] for k in ('kendall_tau', 'kendall_tau_ci95', 'spearman_rho', 'spearman_rho_ci95')
           if k in agree})


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('config')
    p.add_argument('checkpoint')
    p.add_argument('--subnets', type=int, default=16)
    p.add_argument('--precision', default='bf16', choices=[k for k in PRECISIONS if k != 'fp32'],
                   help='compared with fp32')
    p.add_argument('--batch', type=int, default=8)
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--work-dir', default='benchmarks/runs/scoring_precision')
    p.add_argument('--json', help='results (and record)')
    args = p.parse_args()

    cfg = read_config(args.config)
    prepare_data(cfg.get('prepare_data'))
    store = JsonStore(args.json or Path(args.work_dir) / 'scoring_precision.json')
    precisions = ('fp32', args.precision)
    evs = {k: InheritedEvaluator(cfg, args.checkpoint, f'{args.work_dir}/{k}', batch_size=args.batch,
                                 precision=k) for k in precisions}
    ev = evs['fp32']
    from supernet.flops import FlopsTable
    table = FlopsTable(ev.model, val_input_size(cfg))
    subnets = spread_subnets(ev.space, table.flops, args.subnets, random.Random(args.seed))
    with store.update() as s:
        s.update(config=args.config, checkpoint=args.checkpoint, val_images=ev.num_images, batch=args.batch,
                 precisions=list(precisions), seed=args.seed, threads=torch.get_num_threads(),
                 versions=collect_env_versions())
        s.setdefault('subnets', {})
    # the first pass loads and keeps the val batches: a warm-up for each evaluator
    for k in precisions:
        timed_score(evs[k], subnets[0])
    for i, a in enumerate(subnets):
        if a in store.read()['subnets']:
            continue
        row = dict(gflops=table.flops(a) / 1e9)
        for k in (precisions if i % 2 == 0 else precisions[::-1]):
            m, t = timed_score(evs[k], a)
            row[k] = dict(mAP=m, seconds=t)
        with store.update() as s:
            s['subnets'][a] = row
        print(f'[{i + 1}/{len(subnets)}] {a:30s} {row["gflops"]:6.2f} G | ' +
              ' | '.join(f'{k} {row[k]["mAP"]:.4f} in {row[k]["seconds"]:5.1f} s' for k in precisions),
              flush=True)
    state = store.read()
    rows = {a: state['subnets'][a] for a in subnets}
    summary = summarize(rows, *precisions)
    with store.update() as s:
        s['summary'] = summary
    tau = (f'Kendall tau {summary["kendall_tau"]:.3f} [{summary["kendall_tau_ci95"][0]:.2f}, '
           f'{summary["kendall_tau_ci95"][1]:.2f}], Spearman rho {summary["spearman_rho"]:.3f}'
           if 'kendall_tau' in summary else 'too few subnets for ranks')
    print(f'{args.precision} vs fp32 over {summary["subnets"]} subnets: scoring {summary["seconds"]:.2f}x '
          f'faster; mAP moves {summary["mAP_diff_mean"]:+.4f} on average '
          f'(largest {summary["mAP_diff_max_abs"]:.4f}; '
          f'the scores span {summary["mAP_spread"]:.4f}); {tau}')


if __name__ == '__main__':
    main()
