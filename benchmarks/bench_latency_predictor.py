"""Does the latency model rank subnets by their measured latency on this device, better than
FLOPs do?

On one supernet (its trained weights, so that post-processing sees realistic detections;
without a checkpoint, its initial weights): ``--fit`` subnets (min, max and draws spread
over the FLOPs, as the subnet search fits its model) are timed and the model
(:class:`smnas.evaluation.latency_model.LatencyModel`) is fitted to them; it then ranks two
test sets of other subnets: ``--test`` spread evenly over the space's FLOPs (the range a
search's front covers) and ``--test-random`` uniform draws (which crowd the middle, where
subnets are close in latency). Every subnet is exported once and timed at batch 1 in
``--rounds`` interleaved rounds (a shuffled order per round, ``--repeats`` runs each, WS
folded), so that a slow spell of the machine falls on all of them alike; a subnet's latency
is the least of its runs. Reported per test set: Kendall tau of predicted vs measured latency
and of FLOPs vs measured, the mean relative error, and the measurement's own repeatability:
tau between the even and the odd rounds, the ceiling of any predictor.

    python benchmarks/bench_latency_predictor.py work_dirs/quickstart/supernet/config.py \\
        work_dirs/quickstart/supernet/iter_300.pth --json benchmarks/results/latency_predictor.json
    # reduced:
    python benchmarks/bench_latency_predictor.py CONFIG CKPT --fit 8 --test 6 --test-random 6 --rounds 2

Run it alone: other jobs on the machine make every timing noisy.
"""
import argparse
import random
import statistics
import sys
import time

import torch

from mmengine.config import DictAction

from smnas.engine import read_config
from smnas.evaluation.latency_model import LatencyModel, kendall, measure_subnets_ms
from smnas.search.pareto import spread_by_cost, spread_subnets
from smnas.search.subnet import val_input_size
from smnas.utils import atomic_write_json, collect_env_versions


ESTIMATORS = {
    'least_run': lambda rounds: min(min(r) for r in rounds),
    'median_of_round_minima': lambda rounds: statistics.median(min(r) for r in rounds),
    'median_of_round_medians': lambda rounds: statistics.median(statistics.median(r) for r in rounds),
}


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('config', help='the supernet config')
    p.add_argument('checkpoint', nargs='?', help='the trained supernet (default: initial weights)')
    p.add_argument('--fit', type=int, default=16,
                   help='subnets the model is fitted on (min and max included)')
    p.add_argument('--test', type=int, default=24, help='test subnets spread over the FLOPs')
    p.add_argument('--test-random', type=int, default=24, help='test subnets drawn uniformly')
    p.add_argument('--rounds', type=int, default=6, help='interleaved timing rounds (even: 2 halves)')
    p.add_argument('--repeats', type=int, default=3, help='timed runs per subnet and round')
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--cfg-options', nargs='+', action=DictAction, help='override config keys')
    p.add_argument('--json')
    args = p.parse_args(argv)

    from mmdet.registry import MODELS
    from mmengine.registry import DefaultScope

    from smnas.engine import load_local_checkpoint
    from smnas.register import register_all_modules
    from supernet.flops import FlopsTable

    register_all_modules()
    cfg = read_config(args.config, args.cfg_options)
    torch.manual_seed(args.seed)
    with DefaultScope.overwrite_default_scope('mmdet'):
        model = MODELS.build(cfg.model)
    if args.checkpoint:
        model.load_state_dict(load_local_checkpoint(args.checkpoint, map_location='cpu')['state_dict'])
    size = val_input_size(cfg)
    table = FlopsTable(model, size)
    space = model.space
    rng = random.Random(args.seed)
    fit = spread_subnets(space, table.flops, args.fit, rng)
    seen = set(fit)
    pool = [s for s in dict.fromkeys(str(space.sample(rng)) for _ in range(20 * args.test)) if s not in seen]
    sets = {'spread': spread_by_cost(pool, table.flops, args.test)}
    seen.update(sets['spread'])
    sets['random'] = []
    while len(sets['random']) < args.test_random:
        s = str(space.sample(rng))
        if s not in seen:
            sets['random'].append(s)
            seen.add(s)
    threads = torch.get_num_threads()
    t0 = time.time()
    raw = measure_subnets_ms(model.architecture_cfg, model.architecture.state_dict(), list(seen),
                             size, rounds=args.rounds, repeats=args.repeats, seed=args.seed, reduce=None)
    runs = {s: [min(r) for r in rounds] for s, rounds in raw.items()}
    measured = {s: min(r) for s, r in runs.items()}
    halves = {s: (min(r[0::2]), min(r[1::2] or r)) for s, r in runs.items()}
    lm = LatencyModel(table).fit(fit, measured.__getitem__)
    out = dict(config=args.config, checkpoint=args.checkpoint, input_size=list(size), threads=threads,
               fit_subnets=len(fit), rounds=args.rounds, repeats=args.repeats, seed=args.seed,
               model=lm.to_dict(), test_sets={})
    for name, test in sets.items():
        if not test:
            continue
        m = [measured[s] for s in test]
        pred = {s: lm.predict(s) for s in test}
        flops = {s: table.flops(s) / 1e9 for s in test}
        res = dict(
            subnets=len(test),
            kendall_tau_predicted=kendall([pred[s] for s in test], m),
            kendall_tau_flops=kendall([flops[s] for s in test], m),
            kendall_tau_two_measurements=kendall([halves[s][0] for s in test], [halves[s][1] for s in test]),
            mean_relative_error=statistics.fmean(abs(pred[s] - measured[s]) / measured[s] for s in test),
            latency_ms_range=[min(m), max(m)],
            # how well other estimators of a subnet's latency repeat (even vs odd rounds)
            ceiling_by_estimator={name: kendall([est(raw[s][0::2]) for s in test],
                                                [est(raw[s][1::2] or raw[s]) for s in test])
                                  for name, est in ESTIMATORS.items()},
            by_subnet={s: dict(measured_ms=measured[s], rounds_ms=runs[s], predicted_ms=pred[s],
                               gflops=flops[s]) for s in test})
        out['test_sets'][name] = res
        print(f'[latency] {name}: {len(test)} test subnets at {size[0]}x{size[1]}, {threads} threads, '
              f'{min(m):.1f}-{max(m):.1f} ms: Kendall tau predicted {res["kendall_tau_predicted"]:.3f}, '
              f'FLOPs {res["kendall_tau_flops"]:.3f}, '
              f'even vs odd rounds {res["kendall_tau_two_measurements"]:.3f} (median of round '
              f'medians: {res["ceiling_by_estimator"]["median_of_round_medians"]:.3f}); '
              f'mean relative error {res["mean_relative_error"]:.1%}', flush=True)
    out.update(seconds=time.time() - t0,
               command='python ' + ' '.join([sys.argv[0]] + (argv if argv is not None else sys.argv[1:])),
               versions=collect_env_versions())
    if args.json:
        atomic_write_json(args.json, out, indent=1)
    return out


if __name__ == '__main__':
    main()
