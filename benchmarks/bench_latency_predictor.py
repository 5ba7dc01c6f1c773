"""Does the latency model rank subnets by their measured latency on this device, better than
FLOPs do?

On one supernet (its trained weights, so that post-processing sees realistic detections):
``--fit`` subnets (min, max and random draws) and ``--test`` other random subnets are
exported as static models and timed at batch 1 (median of ``--repeats`` runs, WS folded);
the model (:class:`smnas.evaluation.latency_model.LatencyModel`) is fitted on the first
set and ranks the second. Reported: Kendall tau of predicted vs measured latency and of
FLOPs vs measured latency on the test subnets, the mean relative error, and the
measurement's own repeatability (the test subnets timed twice: tau between the two
passes is the ceiling of any predictor).

    python benchmarks/bench_latency_predictor.py work_dirs/quickstart/supernet/config.py \\
        work_dirs/quickstart/supernet/iter_300.pth --json benchmarks/results/latency_predictor.json
    python benchmarks/bench_latency_predictor.py CONFIG CKPT --fit 8 --test 6 --repeats 5   # reduced

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
from smnas.evaluation.latency_model import LatencyModel, kendall, measure_subnet_ms
from smnas.search.subnet import val_input_size
from smnas.utils import atomic_write_json, collect_env_versions


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('config', help='the supernet config')
    p.add_argument('checkpoint', help='the trained supernet')
    p.add_argument('--fit', type=int, default=16,
                   help='subnets the model is fitted on (min and max included)')
    p.add_argument('--test', type=int, default=24, help='other subnets it is scored on')
    p.add_argument('--repeats', type=int, default=20)
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
    with DefaultScope.overwrite_default_scope('mmdet'):
        model = MODELS.build(cfg.model)
    sd = load_local_checkpoint(args.checkpoint, map_location='cpu')['state_dict']
    model.load_state_dict(sd)
    size = val_input_size(cfg)
    table = FlopsTable(model, size)
    space = model.space
    arch_sd = model.architecture.state_dict()
    rng = random.Random(args.seed)
    fit = [str(space.min_subnet()), str(space.max_subnet())]
    while len(fit) < args.fit:
        s = str(space.sample(rng))
        if s not in fit:
            fit.append(s)
    test = []
    while len(test) < args.test:
        s = str(space.sample(rng))
        if s not in fit and s not in test:
            test.append(s)
    threads = torch.get_num_threads()
    t0 = time.time()

    def measure(sub):
        return measure_subnet_ms(model.architecture_cfg, arch_sd, sub, size, repeats=args.repeats)

    lm = LatencyModel(table).fit(fit, measure)
    first = {s: measure(s) for s in test}
    second = {s: measure(s) for s in test}  # the measurement's own noise
    measured = {s: statistics.fmean((first[s], second[s])) for s in test}
    pred = {s: lm.predict(s) for s in test}
    flops = {s: table.flops(s) / 1e9 for s in test}
    m = [measured[s] for s in test]
    out = dict(
        config=args.config, checkpoint=args.checkpoint, input_size=list(size), threads=threads,
        fit_subnets=len(fit), test_subnets=len(test), repeats=args.repeats,
        kendall_tau_predicted=kendall([pred[s] for s in test], m),
        kendall_tau_flops=kendall([flops[s] for s in test], m),
        kendall_tau_two_measurements=kendall([first[s] for s in test], [second[s] for s in test]),
        mean_relative_error=statistics.fmean(abs(pred[s] - measured[s]) / measured[s] for s in test),
        latency_ms_range=[min(m), max(m)], model=lm.to_dict(),
        subnets={s: dict(measured_ms=measured[s], first_ms=first[s], second_ms=second[s],
                         predicted_ms=pred[s], gflops=flops[s]) for s in test},
        seconds=time.time() - t0,
        command='python ' + ' '.join([sys.argv[0]] + (argv if argv is not None else sys.argv[1:])),
        versions=collect_env_versions())
    print(f'[latency] {len(test)} test subnets at {size[0]}x{size[1]}, {threads} threads, '
          f'{min(m):.1f}-{max(m):.1f} ms: Kendall tau predicted {out["kendall_tau_predicted"]:.3f}, '
          f'FLOPs {out["kendall_tau_flops"]:.3f}, '
          f'two measurements {out["kendall_tau_two_measurements"]:.3f}; '
          f'mean relative error {out["mean_relative_error"]:.1%} ({out["seconds"]:.0f} s)')
    if args.json:
        atomic_write_json(args.json, out, indent=1)
    return out


if __name__ == '__main__':
    main()
