"""The structural search at one budget: the fixed schedule (NSGA-II, every candidate
trained fully) against successive halving, side by side in one run.

Both get the budget of ``--trials`` full trainings of ``train_cfg.max_iters``
iterations. Printed and written: candidates evaluated, training iterations and seconds
spent, the front (structures, mAP ± SE, latency), its hypervolume against one reference
for both (twice the largest latency either measured), the best full-schedule mAP, and
the seed spread of halving's best candidate (its noise, against which the two fronts'
differences are read).

    python benchmarks/bench_structural_fidelity.py configs/structural/quickstart_synthetic.py \
        --work-dir benchmarks/runs/structural_fidelity --trials 6 --iters 90 \
        --json benchmarks/results/structural_fidelity.json \
        --cfg-options "search_space.backbones=[r18]" search_space.input_scale=0.15 \
        "search_space.necks=[fpn-p2p5-p6,fpn-p3p5-p6,fpn-p3p5-p5]" "search_space.rpns=[none,rpn]"
    # reduced rerun (minutes): --trials 3 --iters 30 ...
"""
import argparse
import json
from pathlib import Path


def summarise(search, study, kind: str) -> dict:
    """Counts, cost and front of one finished search."""
    from smnas.search.pareto import pareto_front
    from smnas.search.study import arch_outcomes

    wd = Path(search.work_dir)
    done = {a: o for a, o in arch_outcomes(study).items() if o['state'] == 'complete'}
    pts = [(a, o['values'][0], o['values'][1]) for a, o in done.items()]
    fid = json.loads((wd / 'fidelity.json').read_text()) if (wd / 'fidelity.json').is_file() else {}
    if kind == 'halving':
        evaluated = [x for r in fid['rungs'] for x in r['results']]
        iters = sum(r['iters'] * len(r['results']) for r in fid['rungs'])
        seconds = sum(x.get('train_seconds') or 0 for x in evaluated)
        distinct = len({x['arch'] for x in evaluated})
    else:
        full = int(search.base.train_cfg.max_iters)
        iters = full * len(done)
        seconds = sum(o['attrs'].get('train_seconds') or 0 for o in done.values())
        distinct = len(arch_outcomes(study))
    front = pareto_front(pts)
    return dict(kind=kind, candidates=distinct, full_schedule=len(done), train_iters=iters,
                train_seconds=seconds,
                front=[dict(arch=a, mAP=m, mAP_se=done[a]['attrs'].get('mAP_se'), latency_ms=c)
                       for a, m, c in front],
                best_mAP=max((p[1] for p in pts), default=None), all=pts, repeats=fid.get('repeats'))


def main():
    from smnas.data.prepare import prepare_data
    from smnas.engine import DictAction, read_config, rescale_schedule
    from smnas.search.pareto import hypervolume_2d
    from smnas.search.structural import StructuralSearch
    from smnas.utils import atomic_write_json, collect_env_versions

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('config')
    p.add_argument('--work-dir', required=True)
    p.add_argument('--trials', type=int, default=6, help='the budget, in full trainings')
    p.add_argument('--iters', type=int, help="the whole schedule's length: the config's schedule "
                   'rescaled to it (smnas.engine.rescale_schedule); default: as configured')
    p.add_argument('--eta', type=int, default=3)
    p.add_argument('--rungs', type=int, default=3)
    p.add_argument('--repeats', type=int, default=2, help="extra seeds of halving's best candidate")
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--json')
    p.add_argument('--cfg-options', nargs='+', action=DictAction)
    args = p.parse_args()

    out = {}
    for kind in ('fixed', 'halving'):
        cfg = read_config(args.config, args.cfg_options)
        if args.iters:
            rescale_schedule(cfg, args.iters)
        prepare_data(cfg.get('prepare_data'))
        fidelity = dict(kind=kind, eta=args.eta, rungs=args.rungs,
                        repeats=args.repeats if kind == 'halving' else 0)
        population = min(args.trials, int(cfg.search.get('population_size', 8)))
        cfg.merge_from_dict({'search.n_trials': args.trials, 'search.seed': args.seed,
                             'search.population_size': population, 'search.fidelity': fidelity})
        search = StructuralSearch(cfg, str(Path(args.work_dir) / kind))
        out[kind] = summarise(search, search.run(), kind)
    ref = 2.0 * max(c for s in out.values() for _, _, c in s['all'])
    for s in out.values():
        s['hypervolume'] = hypervolume_2d([(f['arch'], f['mAP'], f['latency_ms']) for f in s['front']], ref)
    noise = out['halving']['repeats']
    heads = ('candidates', 10), ('full', 5), ('iters', 6), ('train s', 8), ('best mAP', 9), ('HV', 8)
    print(f'{"":10s} ' + ' '.join(f'{h:>{w}s}' for h, w in heads))
    for k, s in out.items():
        print(f'{k:10s} {s["candidates"]:10d} {s["full_schedule"]:5d} {s["train_iters"]:6d} '
              f'{s["train_seconds"]:8.0f} {s["best_mAP"] or 0:9.4f} {s["hypervolume"]:8.3f}')
        for f in s['front']:
            se = f' ± {f["mAP_se"]:.4f}' if f.get('mAP_se') is not None else ''
            print(f'    {f["arch"]:45s} mAP {f["mAP"]:.4f}{se}  {f["latency_ms"]:.1f} ms')
    if noise:
        print(f'noise: {noise["arch"]} over {len(noise["mAPs"])} seeds: std {noise["std"]:.4f}, '
              f'range {noise["range"]:.4f}')
    if args.json:
        atomic_write_json(args.json, dict(
            config=args.config, cfg_options=args.cfg_options, trials=args.trials, iters=args.iters,
            eta=args.eta, rungs=args.rungs, seed=args.seed, hv_reference_latency_ms=ref, searches=out,
            noise=noise, versions=collect_env_versions()), indent=1)


if __name__ == '__main__':
    main()
