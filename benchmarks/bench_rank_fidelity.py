"""Does the supernet rank subnets as training them from scratch would, and at what cost?

In one resumable run (every step is stored in the work dir; rerun the command to go on):

1. train the supernet of CONFIG (``tools/train_supernet.py``, resumed if interrupted);
2. pick N subnets spread over the FLOPs range (evenly spaced FLOPs quantiles of a seeded
   sample of the space, the min and max subnets included);
3. score each with inherited weights on the val split (timed);
4. train each from scratch with one common schedule (the supernet config's, rescaled by
   ``--scratch-iters``, plus ``--retrain-options``) in its own process, score it on the
   same split (timed);
5. report Kendall tau and Spearman rho between the two rankings (scipy), each with a
   bootstrap 95% interval over the subnets, per-subnet mAP, FLOPs and params;
6. run the modular stage's search (``--search-subnets``, default 300, with the same
   supernet) and compare the whole stage, supernet training plus search, with training
   every searched subnet from scratch (each subnet's cost from a linear fit in GFLOPs of
   the from-scratch times measured in step 4).

    python benchmarks/bench_rank_fidelity.py configs/supernet/bccd.py --work-dir benchmarks/runs/rank_bccd \
        --scratch-iters 300
    python benchmarks/bench_rank_fidelity.py CONFIG --subnets 8 --search-subnets 0   # ranking only
    python benchmarks/bench_rank_fidelity.py CONFIG --work-dir W ... --summary-only  # results so far
    python benchmarks/bench_rank_fidelity.py configs/supernet/bccd.py --quick        # about 35 min on 2 cores

State: ``truth.json`` (the ground truth) and ``variant_<name>.json`` per recipe in the
work dir (:mod:`smnas.benchmarks.records`). Results: ``<work-dir>/rank_fidelity.json``
and a printed table. With ``--json`` the
results file is also a record: on a new machine (the work dir gone) a rerun restores
from it every subnet trained from scratch, every variant's inherited scores and the
search's cost, and trains only what it lacks; the supernet only if subnets are still to
be scored with inherited weights or searched.
"""

import argparse
import signal
import sys

from mmengine.config import DictAction

from smnas.benchmarks.rank_fidelity import FEW_SHOT_KEYS, RankFidelity, cost_breakdown
from smnas.benchmarks.rank_report import print_summary
from smnas.utils import atomic_write_json


def _stop(signum, frame):
    raise SystemExit(128 + signum)


def main():
    # A stopped run must still record what it timed (``finally`` blocks): SIGTERM ends the
    # process without them by default, and a shell's background job ignores SIGINT.
    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('config', help='a supernet config (e.g. configs/supernet/bccd.py)')
    p.add_argument('--work-dir', help='default: benchmarks/runs/rank_fidelity[_quick]')
    p.add_argument('--subnets', type=int, help='subnets trained from scratch (default 8; quick 5)')
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--supernet-iters', type=int,
                   help="supernet schedule rescaled to this many iterations (default: the config's; "
                        "quick 150)")
    p.add_argument('--scratch-iters', type=int,
                   help="from-scratch schedule: the supernet's rescaled to this many iterations (quick 75)")
    p.add_argument('--search-subnets', type=int,
                   help='subnets the timed search evaluates (default 300; quick 30; 0: no search and no '
                        'stage cost)')
    p.add_argument('--quick', action='store_true',
                   help='a reduced run with the defaults above (a check that the pipeline reproduces, '
                        'not the reported numbers)')
    p.add_argument('--cfg-options', nargs='+', action=DictAction, help='override supernet config keys')
    p.add_argument('--retrain-options', nargs='+', action=DictAction,
                   help='override keys of the from-scratch training (the common schedule)')
    p.add_argument('--json', help='also write the results here (e.g. benchmarks/results_rank_bccd.json)')
    p.add_argument('--cost-json', help="also write the modular stage's cost breakdown here "
                   '(e.g. benchmarks/results/modular_cost.json)')
    p.add_argument('--scratch-fit-from', metavar='COST_JSON',
                   help='price training from scratch with the subnets an earlier --cost-json run trained '
                        '(train none now): re-measures the supernet and search side of the stage')
    p.add_argument('--summary-only', action='store_true',
                   help='report what the work dir holds so far, training and searching nothing')
    p.add_argument('--noise-seeds', type=int, default=0,
                   help='train the median-FLOPs subnet this many more times with other seeds: the '
                        'ground truth\'s own noise')
    p.add_argument('--variant', default='base',
                   help='name of another supernet recipe (its --cfg-options / --supernet-iters), scored '
                        'against the base run\'s from-scratch ground truth in the same work dir')
    p.add_argument('--scratch-seeds', type=int, default=1,
                   help='train every subnet from scratch with this many seeds; the ground truth is '
                        'their mean (more seeds can be added to a stored run)')
    p.add_argument('--seed-order', choices=('seed', 'subnet'), default='seed',
                   help="with --scratch-seeds: 'seed' trains one seed over every subnet at a time (a "
                        "stopped run leaves whole seeds); 'subnet' every seed of a subnet before the next "
                        '(the seeds agree, or not, on the subnets trained so far)')
    p.add_argument('--truth-first', action='store_true',
                   help='train the from-scratch ground truth only, before any supernet (a later run '
                        'without it trains the supernet and scores the same subnets)')
    p.add_argument('--supernet-of', metavar='VARIANT',
                   help="score with that variant's supernet instead of training one (with --finetune-iters "
                        'or --few-shot)')
    p.add_argument('--finetune-iters', type=int, default=0,
                   help='fine-tune each subnet alone this many steps before it is scored (its time counts '
                        'in its scoring cost)')
    p.add_argument('--finetune-lr', type=float,
                   help="fine-tune learning rate (default: a tenth of the config's)")
    p.add_argument('--few-shot', choices=sorted(FEW_SHOT_KEYS),
                   help='few-shot supernets: one per choice of this dimension, each trained from the '
                        "--supernet-of one on its part of the space")
    p.add_argument('--few-shot-iters', type=int,
                   help='steps of each few-shot part (default: the schedule divided by the parts)')
    p.add_argument('--jobs', type=int, default=1,
                   help='from-scratch trainings run side by side (a GPU, or a CPU machine with many cores)')
    p.add_argument('--score-jobs', type=int, default=1,
                   help='subnets scored with inherited weights side by side, each in its own process with '
                        'its share of the cores (smnas.benchmarks.scoring)')
    p.add_argument('--supernet-procs', type=int, default=1,
                   help='train supernets data-parallel in this many local processes (torchrun; on a CPU '
                        'each gets its share of the cores), with the same total batch')
    p.add_argument('--mean-of', metavar='A,B', action='append', default=[],
                   help='also rank by the mean score over these variants\' supernets (comma-separated; '
                        'repeat for another mean); kept in the record. Seeds of one recipe are averaged '
                        'without it')
    p.add_argument('--variants-from', metavar='RECORD',
                   help="rank another record's recipes (same space) against this work dir's truth")
    args = p.parse_args()
    defaults = (dict(work_dir='benchmarks/runs/rank_fidelity_quick', subnets=5, supernet_iters=150,
                     scratch_iters=75, search_subnets=30) if args.quick else
                dict(work_dir='benchmarks/runs/rank_fidelity', subnets=8, search_subnets=300))
    for key, value in defaults.items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    if args.few_shot and not args.supernet_of:
        p.error("--few-shot trains its parts from another variant's supernet: give --supernet-of")
    bench = RankFidelity(args.config, args.work_dir, args.cfg_options, args.retrain_options, args.subnets,
                         args.seed, args.scratch_iters, args.search_subnets, args.supernet_iters,
                         args.variant, args.noise_seeds, args.scratch_seeds, args.json, args.truth_first,
                         args.jobs, args.supernet_of, args.finetune_iters, args.finetune_lr, args.few_shot,
                         args.few_shot_iters, args.seed_order, args.supernet_procs, args.scratch_fit_from,
                         args.score_jobs, [m.split(',') for m in args.mean_of])
    if args.variants_from:
        bench.import_variants(args.variants_from)
    s = bench.summary() if args.summary_only else bench.run()
    if args.json:
        atomic_write_json(args.json, s, indent=1)
    cost = cost_breakdown(s, ' '.join(sys.argv), args.scratch_fit_from) if args.cost_json else None
    if cost is not None:
        atomic_write_json(args.cost_json, cost, indent=1)
    print_summary(s)

if __name__ == '__main__':
    main()
