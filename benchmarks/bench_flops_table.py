"""Pricing subnets: the per-layer FLOPs table against a thop profile of each exported model.

For random subnets of a supernet, in one run: the table's FLOPs and the time to get
them (after the one-off table build, also timed), against thop on the exported
static model (build + profile). Prints the largest relative difference and the
speed ratio.

    python benchmarks/bench_flops_table.py                       # paper space, Cascade R-CNN, 800x600
    python benchmarks/bench_flops_table.py --structure r18_fpn-p3p5-p6_none_retina_512x512 --size 512 512
    python benchmarks/bench_flops_table.py --subnets 20 --json benchmarks/results_flops_table.json
"""
import argparse
import json
import random
import statistics
import time

import torch

from smnas.evaluation import count_flops_params
from smnas.testing import build_detector
from smnas.utils import collect_env_versions
from smnas.modular.structure import supernet_model_cfg
from supernet.export import export_subnet
from supernet.flops import FlopsTable
from supernet.space import ModularSpace


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--structure', default='r50_fpn-p2p5-p6_rpn_cascade3_800x600')
    p.add_argument('--size', type=int, nargs=2, default=(800, 600), metavar=('W', 'H'))
    p.add_argument('--subnets', type=int, default=8)
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--json', help='write the results here')
    args = p.parse_args()

    space = ModularSpace()  # the paper's modular space
    torch.manual_seed(args.seed)
    model = build_detector(dict(type='SandwichSupernet', space=space.to_dict(),
                                architecture=supernet_model_cfg(args.structure, space, 80)))
    size = tuple(args.size)
    t0 = time.perf_counter()
    table = FlopsTable(model, size)
    table.learn_rules()
    build_s = time.perf_counter() - t0
    if table.rules is None:
        raise SystemExit('the table learnt no width rules (see the warning above)')
    forward = FlopsTable(model, size, rule_samples=0)  # widths read by a forward pass, for comparison
    rng = random.Random(args.seed)
    rows = []
    for _ in range(args.subnets):
        sub = space.sample(rng)
        t0 = time.perf_counter()
        f_table = table.flops(sub)
        t_table = time.perf_counter() - t0
        t0 = time.perf_counter()
        f_forward = forward.flops(sub)
        t_forward = time.perf_counter() - t0
        t0 = time.perf_counter()
        cfg, sd = export_subnet(model.architecture_cfg, model.architecture.state_dict(), sub)
        static = build_detector(cfg)
        f_thop = count_flops_params(static, size)['flops']
        t_thop = time.perf_counter() - t0
        rows.append(dict(subnet=str(sub), gflops_table=f_table / 1e9, gflops_thop=f_thop / 1e9,
                         rel_diff=abs(f_table - f_thop) / f_thop, table_s=t_table, thop_s=t_thop,
                         forward_equal=f_forward == f_table, forward_s=t_forward))
        print(f'{str(sub):34s} table {f_table / 1e9:8.3f} G in {t_table * 1e3:6.2f} ms | widths by forward '
              f'{t_forward * 1e3:6.1f} ms | thop {f_thop / 1e9:8.3f} G in {t_thop:5.2f} s', flush=True)
    med_table = statistics.median(r['table_s'] for r in rows)
    med_thop = statistics.median(r['thop_s'] for r in rows)
    med_forward = statistics.median(r['forward_s'] for r in rows)
    summary = dict(structure=args.structure, input_size=list(size), subnets=len(rows),
                   table_build_s=build_s, median_table_s=med_table, median_thop_s=med_thop,
                   speedup=med_thop / med_table, max_rel_diff=max(r['rel_diff'] for r in rows),
                   median_forward_widths_s=med_forward, width_rules=len(table.rules),
                   rules_equal_forward=all(r['forward_equal'] for r in rows),
                   threads=torch.get_num_threads(), versions=collect_env_versions())
    print(f'table build (once, width rules included): {build_s:.1f} s; per subnet: table '
          f'{med_table * 1e3:.2f} ms (widths by a forward pass: {med_forward * 1e3:.1f} ms) vs thop '
          f'{med_thop:.2f} s -> {summary["speedup"]:.0f}x faster; largest difference '
          f'{summary["max_rel_diff"]:.2e} (goal: within 1%); rules equal the forward pass on every '
          f'subnet: {summary["rules_equal_forward"]}')
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(dict(summary=summary, subnets=rows), f, indent=1)


if __name__ == '__main__':
    main()
