"""Does the modular stage's search beat random picks at the same budget?

On one trained supernet, every method gets the same number of inherited-weight
evaluations (``--evals``) and is run with ``--seeds`` search seeds:

- ``nsga2``: the subnet search as users run it (:class:`smnas.search.subnet.SubnetSearch`);
- ``random``: the same search with uniform random draws (``subnet_search.sampler='random'``);
- ``flops``: pick by FLOPs alone: ``--evals`` subnets at evenly spaced FLOPs quantiles of
  a seeded sample of the space, never looking at a score.

For each run, the hypervolume of its front in (inherited mAP, GFLOPs) is measured against
one reference point shared by every run (accuracy 0, cost 1.1x the space's largest
FLOPs) and also given as a fraction of the best front of the whole space when the space
is scored exhaustively (``--exhaustive``, the default for spaces of at most 1000
subnets). Scores are shared by every run (one result folder per subnet), so each subnet
is scored once. With ``--retrain K`` each method's seed-0 front also gives K finalists
that are trained from scratch (``--retrain-iters``), and the hypervolume of their
retrained scores is reported as well.

    python benchmarks/bench_search_vs_random.py configs/supernet/quickstart_synthetic.py \\
        --checkpoint work_dirs/quickstart/supernet/iter_300.pth --evals 24 --seeds 10 \\
        --retrain 3 --json benchmarks/results/search_vs_random.json
    python benchmarks/bench_search_vs_random.py CONFIG --checkpoint SN --evals 16 --seeds 3   # reduced

Everything is stored in the work dir (default ``benchmarks/runs/search_vs_random``); a
rerun reuses every score, search and retraining already there.
"""
import argparse
import contextlib
import io
import json
import math
import random
import shutil
import statistics
import sys
import time
from pathlib import Path

from mmengine.config import DictAction

from smnas.data.prepare import prepare_data
from smnas.engine import read_config
from smnas.search.evolution import EvolutionarySearch
from smnas.search.pareto import hypervolume_2d, pareto_front, spread_along, spread_subnets
from smnas.search.study import arch_outcomes
from smnas.search.subnet import SUBNET_DEFAULTS, SubnetSearch
from smnas.search.trial import read_stored
from smnas.utils import atomic_write_json, collect_env_versions

#: method -> the subnet search's options (``flops`` is no search: see pick_by_flops)
SEARCHES = {'nsga2': dict(sampler='nsga2', init='spread'),
            'nsga2_uniform_init': dict(sampler='nsga2', init='random'),
            'random': dict(sampler='random')}
METHODS = tuple(SEARCHES) + ('flops', )


class SharedScores(SubnetSearch):
    """A subnet search that uses another search's loaded supernet, FLOPs table and
    per-subnet results: many searches over one checkpoint without loading it again."""

    def __init__(self, proto: SubnetSearch, work_dir: Path, opts: dict):
        EvolutionarySearch.__init__(self, str(work_dir), dict(SUBNET_DEFAULTS, **opts), None, workers=1,
                                    study_name='subnet', results_dir=str(proto.results_dir))
        for key in ('cfg', 'checkpoint', 'supernets', 'config_path', 'evaluator', 'screen_images', 'space',
                    'input_size', 'table', 'span', 'range', 'latency', 'score_key', 'score_sign',
                    'defer_map', 'blend_scale'):
            setattr(self, key, getattr(proto, key))
        self.target = min(int(self.opts['n_trials']), self.space.count())
        self._generations = {}


def score(proto: SubnetSearch, arch: str) -> dict:
    """The stored result of ``arch``, scored now if it has none."""
    stored = read_stored(proto.results_dir / arch)
    if stored and stored.get('status') == 'ok':
        return stored
    with contextlib.redirect_stdout(io.StringIO()):  # pycocotools' tables
        return proto.evaluate(arch, proto.results_dir / arch).to_dict()


def score_space(proto: SubnetSearch) -> dict:
    """Every subnet of the space scored (resumable): arch -> (mAP, FLOPs)."""
    archs = [str(s) for s in proto.space.all()]
    out, t0, fresh = {}, time.time(), 0
    for i, arch in enumerate(archs, 1):
        stored = read_stored(proto.results_dir / arch)
        if not (stored and stored.get('status') == 'ok'):
            stored, fresh = score(proto, arch), fresh + 1
        out[arch] = (stored['mAP'], stored['flops'])
        if fresh and (i % 25 == 0 or i == len(archs)):
            rate = (time.time() - t0) / fresh
            print(f'[space] {i}/{len(archs)} scored | {rate:.1f} s per subnet | ETA '
                  f'{time.strftime("%H:%M:%S", time.gmtime(rate * (len(archs) - i)))}', flush=True)
    return out


def run_search(proto: SubnetSearch, wd: Path, method: str, seed: int, evals: int) -> list:
    """(arch, mAP, FLOPs) of every subnet one search run evaluated (a stored run made with
    other options is run again: its study is only a cache over the stored scores)."""
    opts = dict(proto.opts, **SEARCHES[method], seed=seed, n_trials=evals)
    run_dir = wd / method / f'seed{seed}'
    meta = run_dir / 'search_meta.json'
    if meta.is_file():
        stored = json.loads(meta.read_text()).get('search', {})
        if any(stored.get(k) != opts.get(k) for k in ('sampler', 'init', 'seed', 'population_size')):
            shutil.rmtree(run_dir)
    search = SharedScores(proto, run_dir, opts)
    with contextlib.redirect_stdout(io.StringIO()):  # per-trial progress lines of 30 searches
        study = search.run()
    return [(a, o['values'][0], o['values'][1]) for a, o in arch_outcomes(study).items()
            if o['state'] == 'complete']


def pick_by_flops(proto: SubnetSearch, seed: int, evals: int) -> list:
    """``evals`` subnets at evenly spaced FLOPs quantiles of a seeded sample (min and max
    included), scored."""
    picks = spread_subnets(proto.space, proto.table.flops, evals, random.Random(seed))
    return [(a, r['mAP'], r['flops']) for a, r in ((a, score(proto, a)) for a in picks)]


def mean_se(values) -> dict:
    m = statistics.fmean(values)
    se = statistics.stdev(values) / math.sqrt(len(values)) if len(values) > 1 else float('nan')
    return dict(mean=m, se=se, n=len(values))


def retrain(proto: SubnetSearch, wd: Path, arch: str, iters: int) -> dict:
    """``arch`` trained from scratch once (stored in the work dir): its trial result
    (``mAP``, and ``mAP_se`` from a bootstrap over the val images)."""
    from smnas.modular.finalists import finalists_from_subnets, retrain_config
    from smnas.search.trial import read_result, run_trial_subprocess

    d = wd / 'retrain' / arch
    run_dir = d / 'finalists' / 'E0' / 'retrain'
    done = read_result(run_dir)
    if done is None:
        record = finalists_from_subnets(proto.cfg, [arch], d)[0]
        print(f'[retrain] {arch}: from scratch, {iters} iterations', flush=True)
        done = run_trial_subprocess(retrain_config(record, None, iters), run_dir)
    return dict(mAP=done.mAP, mAP_se=done.mAP_se, mAP_ci95=done.mAP_ci95, train_seconds=done.train_seconds)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('config', help='the supernet config')
    p.add_argument('--checkpoint', required=True, help='the trained supernet')
    p.add_argument('--work-dir', default='benchmarks/runs/search_vs_random')
    p.add_argument('--evals', type=int, default=24, help='inherited-weight evaluations per run (budget)')
    p.add_argument('--seeds', type=int, default=5, help='search seeds per method')
    p.add_argument('--population', type=int, help="NSGA-II population (default: the config's)")
    p.add_argument('--exhaustive', choices=('auto', 'yes', 'no'), default='auto',
                   help='score the whole space first (auto: spaces of at most 1000 subnets)')
    p.add_argument('--retrain', type=int, default=0, help="finalists per method's seed-0 front trained "
                                                           'from scratch (0: none)')
    p.add_argument('--retrain-iters', type=int, default=600)
    p.add_argument('--cfg-options', nargs='+', action=DictAction, help='override config keys')
    p.add_argument('--json', help='also write the results here')
    args = p.parse_args(argv)

    cfg = read_config(args.config, args.cfg_options)
    prepare_data(cfg.get('prepare_data'))
    wd = Path(args.work_dir)
    if args.population:
        cfg.subnet_search = dict(cfg.get('subnet_search', {}), population_size=args.population)
    # Fronts are compared in (inherited mAP, GFLOPs), so every method ranks by the mAP and
    # every subnet's mAP is scored (not the search's default val loss).
    cfg.subnet_search = dict(cfg.get('subnet_search', {}), score='mAP')
    proto = SubnetSearch(cfg, args.checkpoint, str(wd / 'proto'), results_dir=str(wd / 'scores'))
    space, n_space = proto.space, proto.space.count()
    exhaustive = args.exhaustive == 'yes' or (args.exhaustive == 'auto' and n_space <= 1000)
    ref_cost = 1.1 * proto.span[1]
    hv = lambda pts: hypervolume_2d(pareto_front(pts), ref_cost) / 1e9  # noqa: E731  mAP x GFLOPs
    print(f'[bench] {n_space} subnets, {proto.evaluator.num_images} val images, {args.evals} evaluations '
          f'per run, {args.seeds} seeds; HV reference {ref_cost / 1e9:.2f} GFLOPs', flush=True)

    best = None
    if exhaustive:
        table = score_space(proto)
        best_pts = [(a, m, f) for a, (m, f) in table.items()]
        best = dict(hv=hv(best_pts), front=[list(x) for x in pareto_front(best_pts)])
        print(f'[space] whole space: front of {len(best["front"])} subnets, HV {best["hv"]:.4f}', flush=True)

    runs = {m: {} for m in METHODS}
    for seed in range(args.seeds):
        for method in METHODS:
            pts = (pick_by_flops(proto, seed, args.evals) if method == 'flops'
                   else run_search(proto, wd, method, seed, args.evals))
            runs[method][seed] = dict(hv=hv(pts), evaluated=len(pts),
                                      front=[list(x) for x in pareto_front(pts)])
            frac = f' ({runs[method][seed]["hv"] / best["hv"]:.1%} of the space\'s)' if best else ''
            print(f'[bench] {method:18s} seed {seed}: {len(pts)} subnets, HV {runs[method][seed]["hv"]:.4f}'
                  f'{frac}', flush=True)

    stats = {m: mean_se([r['hv'] for r in runs[m].values()]) for m in METHODS}

    def margin(a, b):
        se = math.hypot(stats[a]['se'], stats[b]['se'])
        return (stats[a]['mean'] - stats[b]['mean']) / se if se > 0 else float('nan')

    out = dict(
        config=args.config, checkpoint=str(Path(args.checkpoint).resolve()), space=space.to_dict(),
        space_count=n_space, val_images=proto.evaluator.num_images, evals=args.evals, seeds=args.seeds,
        population_size=int(proto.opts['population_size']), hv_ref_gflops=ref_cost / 1e9,
        hv_unit='mAP x GFLOPs',
        search_hv=[runs['nsga2'][s]['hv'] for s in range(args.seeds)],
        random_hv=[runs['random'][s]['hv'] for s in range(args.seeds)],
        flops_hv=[runs['flops'][s]['hv'] for s in range(args.seeds)],
        uniform_init_hv=[runs['nsga2_uniform_init'][s]['hv'] for s in range(args.seeds)],
        stats=stats, search_minus_random_in_se=margin('nsga2', 'random'),
        search_minus_flops_in_se=margin('nsga2', 'flops'),
        search_minus_uniform_init_in_se=margin('nsga2', 'nsga2_uniform_init'), space_best=best, runs=runs,
        command='python ' + ' '.join([sys.argv[0]] + (argv if argv is not None else sys.argv[1:])),
        versions=collect_env_versions())
    if args.retrain:
        retrained = {}
        for method in METHODS:
            picks = spread_along([tuple(x) for x in runs[method][0]['front']], args.retrain)
            scores = {a: retrain(proto, wd, a, args.retrain_iters) for a, _, _ in picks}
            pts = [(a, scores[a]['mAP'], f) for a, _, f in picks]
            rows = [dict(arch=a, gflops=f / 1e9, inherited=m, **scores[a]) for a, m, f in picks]
            retrained[method] = dict(hv=hv(pts), finalists=rows)
            print(f'[retrain] {method}: HV of the retrained finalists {retrained[method]["hv"]:.4f}',
                  flush=True)
        out['retrained_seed0'] = dict(iters=args.retrain_iters, finalists=args.retrain, methods=retrained)

    print(f'\n{"method":18s} {"HV mean":>9s} {"SE":>8s}' + ('  of the space\'s best' if best else ''))
    for m in METHODS:
        s = stats[m]
        frac = f'  {s["mean"] / best["hv"]:.1%}' if best else ''
        print(f'{m:18s} {s["mean"]:9.4f} {s["se"]:8.4f}{frac}')
    print(f'NSGA-II - random: {out["search_minus_random_in_se"]:+.2f} SE (goal: >= +2); NSGA-II - FLOPs '
          f'alone: {out["search_minus_flops_in_se"]:+.2f} SE; spread - uniform first generation: '
          f'{out["search_minus_uniform_init_in_se"]:+.2f} SE')
    atomic_write_json(wd / 'search_vs_random.json', out, indent=1)
    if args.json:
        atomic_write_json(args.json, out, indent=1)
    return out


if __name__ == '__main__':
    main()
