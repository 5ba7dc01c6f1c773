"""Cost of the inherited mAP's standard error: a bootstrap over the val images on top of
scoring a subnet with inherited weights (``subnet_search.bootstrap``).

For N subnets of a trained supernet (min, max, then seeded random ones), after one warm-up
score that loads the val images: each subnet is scored once (forward, post-processing,
COCO matching, accumulation: what a search pays), its predictions kept, and then the
metric alone is timed on them with no resample and with each of R resamples, in
interleaved rounds so that a slow spell of the machine hits every setting alike. The
extra seconds of R resamples are reported against the subnet's whole scoring time, with
the standard errors they give (how many resamples a stable SE needs).

    python benchmarks/bench_inherited_bootstrap.py configs/supernet/rank_synthetic.py \\
        benchmarks/runs/rank_truth24/supernet/iter_1500.pth --json benchmarks/results/inherited_bootstrap.json
    python benchmarks/bench_inherited_bootstrap.py CONFIG CKPT --subnets 1 --rounds 1   # reduced
"""
import argparse
import statistics
import sys
import time

from smnas.benchmarks.timing import evaluator_and_subnets
from smnas.evaluation.inherited import InheritedEvaluator
from smnas.utils import atomic_write_json, collect_env_versions


def kept_results(evaluator: InheritedEvaluator):
    """A list that receives the per-image results the val metric scores at each call."""
    metric = evaluator.runner.val_loop.evaluator.metrics[0]
    kept = []
    original = metric.compute_metrics

    def compute_metrics(results):
        kept[:] = list(results)
        return original(results)
    metric.compute_metrics = compute_metrics
    return metric, original, kept


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('config')
    p.add_argument('checkpoint')
    p.add_argument('--subnets', type=int, default=3, help='subnets scored (min, max, then random)')
    p.add_argument('--resamples', type=int, nargs='+', default=[50, 100, 200])
    p.add_argument('--rounds', type=int, default=3, help='interleaved timing rounds of the metric')
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--work-dir', default='work_dirs/bench_inherited_bootstrap')
    p.add_argument('--json')
    args = p.parse_args(argv)

    ev, subnets = evaluator_and_subnets(args.config, args.checkpoint, args.work_dir, args.subnets, args.seed)
    metric, compute, kept = kept_results(ev)
    ev.evaluate(subnets[0])  # loads and keeps the val batches: not a cost of one subnet
    rows = {}
    for arch in subnets:
        t0 = time.perf_counter()
        ev.evaluate(arch)
        score_s = time.perf_counter() - t0
        results = list(kept)
        times = {r: [] for r in [0] + args.resamples}
        se = {}
        for _ in range(args.rounds):
            for r in times:
                metric.bootstrap = r
                t0 = time.perf_counter()
                out = compute(results)
                times[r].append(time.perf_counter() - t0)
                se[r] = out.get('bbox_mAP_se')
        metric.bootstrap = 0
        base = statistics.median(times[0])
        rows[arch] = dict(
            score_seconds=score_s, mAP=out['bbox_mAP'], metric_seconds=base,
            bootstrap={str(r): dict(seconds=statistics.median(times[r]) - base, se=se[r],
                                    over_scoring=(statistics.median(times[r]) - base) / score_s)
                       for r in args.resamples})
        extra = '; '.join(f'{r} resamples +{b["seconds"]:.2f} s ({100 * b["over_scoring"]:.1f}% of scoring), '
                          f'SE {b["se"]:.4f}' for r, b in rows[arch]['bootstrap'].items())
        print(f'{arch}: scoring {score_s:.1f} s (metric {base:.2f} s), mAP {out["bbox_mAP"]:.4f}; {extra}',
              flush=True)
    command = ' '.join(['python', 'benchmarks/bench_inherited_bootstrap.py'] + list(argv or sys.argv[1:]))
    record = dict(config=args.config, checkpoint=args.checkpoint, val_images=ev.num_images,
                  rounds=args.rounds, subnets=rows, command=command, versions=collect_env_versions())
    if args.json:
        atomic_write_json(args.json, record, indent=1)
    return record


if __name__ == '__main__':
    main()
