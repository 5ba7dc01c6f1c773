"""Cost of ranking subnets by their val loss (``subnet_search.score='val_loss'``).

For N subnets of a trained supernet (min, max, then seeded random ones), after one warm-up
score that loads the val images, four ways of scoring each subnet are timed in
interleaved rounds (a slow spell of the machine then hits all of them alike):

* ``mAP``: the inherited mAP alone (``InheritedEvaluator.evaluate``);
* ``one_pass``: the mAP and the val loss in one pass, the backbone and neck run once per
  batch for both (``evaluate(loss_seed=...)``, what the search runs);
* ``two_passes``: the mAP, then the val loss in a pass of its own (``val_loss``);
* ``loss``: the val loss alone (what the search runs per subnet with ``map_of='front'``,
  the mAP then scored for the front's subnets only).

Each row gives the median seconds and the ratios to ``mAP``; the one-pass loss is checked
against the two-pass and the lone one (they must agree: same inputs, same sampler seeds).

    python benchmarks/bench_loss_scoring.py configs/supernet/rank_synthetic.py \\
        benchmarks/runs/rank_truth24/supernet/iter_1500.pth --json benchmarks/results/loss_scoring.json
    python benchmarks/bench_loss_scoring.py CONFIG CKPT --subnets 1 --rounds 1   # reduced
"""
import argparse
import statistics
import sys
import time

from smnas.benchmarks.timing import evaluator_and_subnets
from smnas.evaluation.inherited import InheritedEvaluator
from smnas.utils import atomic_write_json, collect_env_versions


def score_ways(ev: InheritedEvaluator, seed: int) -> dict:
    """The four ways of scoring, each a function of a subnet returning its scores."""
    return dict(
        mAP=lambda arch: ev.evaluate(arch),
        one_pass=lambda arch: ev.evaluate(arch, loss_seed=seed),
        two_passes=lambda arch: dict(ev.evaluate(arch), val_loss=ev.val_loss(arch, seed=seed)),
        loss=lambda arch: dict(val_loss=ev.val_loss(arch, seed=seed)),
    )


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('config')
    p.add_argument('checkpoint')
    p.add_argument('--subnets', type=int, default=3, help='subnets scored (min, max, then random)')
    p.add_argument('--rounds', type=int, default=2, help='interleaved rounds of the four ways')
    p.add_argument('--precision', default='fp32', help="the scoring forward's precision (fp32, bf16, fp16)")
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--work-dir', default='work_dirs/bench_loss_scoring')
    p.add_argument('--json')
    args = p.parse_args(argv)

    ev, subnets = evaluator_and_subnets(args.config, args.checkpoint, args.work_dir, args.subnets, args.seed,
                                        precision=args.precision)
    ways = score_ways(ev, args.seed)
    ev.evaluate(subnets[0])  # loads and keeps the val batches: not a cost of one subnet
    rows = {}
    for arch in subnets:
        times, scores = {w: [] for w in ways}, {}
        for _ in range(args.rounds):
            for name, way in ways.items():
                t0 = time.perf_counter()
                scores[name] = way(arch)
                times[name].append(time.perf_counter() - t0)
        med = {w: statistics.median(t) for w, t in times.items()}
        one = scores['one_pass']['val_loss']
        losses = (scores['two_passes']['val_loss'], scores['loss']['val_loss'])
        same_map = scores['one_pass']['mAP'] == scores['mAP']['mAP']
        if any(abs(one - x) > 1e-5 * abs(x) for x in losses) or not same_map:
            raise SystemExit(f'{arch}: the one-pass scores {scores["one_pass"]} differ from the two-pass '
                             f'ones {scores["two_passes"]} or the lone loss {scores["loss"]}')
        rows[arch] = dict(seconds=med, one_pass_over_mAP=med['one_pass'] / med['mAP'],
                          two_passes_over_mAP=med['two_passes'] / med['mAP'],
                          one_pass_over_two_passes=med['one_pass'] / med['two_passes'],
                          loss_over_mAP=med['loss'] / med['mAP'],
                          loss_over_one_pass=med['loss'] / med['one_pass'],
                          mAP=scores['mAP']['mAP'], val_loss=one)
        print(f'{arch}: mAP alone {med["mAP"]:.1f} s, with the loss in one pass {med["one_pass"]:.1f} s '
              f'(x{rows[arch]["one_pass_over_mAP"]:.2f}), in two passes {med["two_passes"]:.1f} s '
              f'(x{rows[arch]["two_passes_over_mAP"]:.2f}), the loss alone {med["loss"]:.1f} s '
              f'(x{rows[arch]["loss_over_mAP"]:.2f}); mAP {rows[arch]["mAP"]:.4f}, val loss {one:.4f}',
              flush=True)
    mean = {k: statistics.mean(r[k] for r in rows.values())
            for k in ('one_pass_over_mAP', 'two_passes_over_mAP', 'one_pass_over_two_passes',
                      'loss_over_mAP', 'loss_over_one_pass')}
    print('mean ratios: ' + ', '.join(f'{k} {v:.2f}' for k, v in mean.items()), flush=True)
    command = ' '.join(['python', 'benchmarks/bench_loss_scoring.py'] + list(argv or sys.argv[1:]))
    record = dict(config=args.config, checkpoint=args.checkpoint, val_images=ev.num_images,
                  precision=args.precision, rounds=args.rounds, seed=args.seed, subnets=rows, mean=mean,
                  command=command, versions=collect_env_versions())
    if args.json:
        atomic_write_json(args.json, record, indent=1)
    return record


if __name__ == '__main__':
    main()
