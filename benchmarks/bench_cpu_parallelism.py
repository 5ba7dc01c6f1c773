"""How should trainings share a CPU: one training on every core, or one training per core?

The rank benchmark trains many subnets from scratch (``bench_rank_fidelity.py --jobs N``
trains N side by side, each with cores/N threads). This measures the two ways side by side
in one run, on a model config (an exported subnet, a finalist) and synthetic batches:

- **one on all**: one process, ``--cores`` torch threads;
- **one per core**: ``--cores`` processes at once, one thread each;

alternating ``--rounds`` times, each process running ``--iters`` timed training steps
(SGD, forward + backward) after a warm-up. Printed: training steps per second of the
machine either way, and their ratio (> 1: one per core gets more work done).

With ``--supernet`` the config is a supernet's, and the two ways train it for ``--iters``
sandwich steps on its own data (``smnas.engine.jobs.train_supernet``): one process on all
cores against ``--cores`` data-parallel processes of one thread each (torchrun, gloo) with
the same total batch; compared is the median logged step time (first 2 steps left out).

With ``--scoring`` the config is a supernet's, and the two ways score ``--subnets`` of its
subnets with inherited weights (mAP, its bootstrap SE over ``--bootstrap`` resamples and the
val loss, as ``bench_rank_fidelity.py`` scores them; ``smnas.benchmarks.scoring``): one
process on all cores against ``--cores`` worker processes of one thread each
(``--score-jobs``), each way from process start to the last score. The supernet is
``--checkpoint``, or one trained here for 3 steps: a score's cost barely depends on the
weights when the config keeps up to 100 detections per image (``score_thr`` 0.001), as the
rank config does. Printed: subnets scored per hour either way and their ratio, and the
largest difference between the two ways' scores (one thread against several reorders float
sums, nothing more).

    python benchmarks/bench_cpu_parallelism.py \\
        benchmarks/runs/rank_truth24/subnets/56_1-21-112-12_n256_h128/56_1-21-112-12_n256_h128.py \\
        --iters 6 --rounds 3 --json benchmarks/results/cpu_parallelism.json
    python benchmarks/bench_cpu_parallelism.py configs/supernet/rank_synthetic.py --supernet --iters 8 \\
        --rounds 2 --json benchmarks/results/cpu_parallelism_supernet.json
    python benchmarks/bench_cpu_parallelism.py configs/supernet/rank_synthetic.py --scoring --subnets 4 \
        --rounds 1 --json benchmarks/results/cpu_parallelism_scoring.json
    python benchmarks/bench_cpu_parallelism.py CONFIG --iters 3 --rounds 1    # reduced

Run it alone: it measures how the cores are shared, so another job distorts it.
"""
import argparse
import json
import os
import pickle
import statistics
import subprocess
import sys
import time
from pathlib import Path


def child(config: str, iters: int, batch: int, warmup: int) -> float:
    """Seconds per training step of ``config``'s model on a synthetic batch (this process)."""
    import torch
    from mmengine.config import Config
    from mmengine.optim import OptimWrapper

    from smnas.search.subnet import val_input_size
    from smnas.testing import build_detector, demo_batch

    cfg = Config.fromfile(config)
    w, h = val_input_size(cfg)
    model = build_detector(cfg.model).train()
    num_classes = int(cfg.model.roi_head.bbox_head.num_classes if 'roi_head' in cfg.model
                      else cfg.model.bbox_head.num_classes)
    data = demo_batch(batch, (h, w), num_classes=num_classes, num_boxes=4)
    optim = OptimWrapper(torch.optim.SGD(model.parameters(), lr=1e-4, momentum=0.9))
    for _ in range(warmup):
        model.train_step(data, optim)
    t0 = time.perf_counter()
    for _ in range(iters):
        model.train_step(data, optim)
    return (time.perf_counter() - t0) / iters


def run(config: str, procs: int, threads: int, args) -> float:
    """Training steps per second of the machine with ``procs`` processes of ``threads``."""
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads))
    cmd = [sys.executable, __file__, config, '--child', '--iters', str(args.iters),
           '--batch', str(args.batch), '--warmup', str(args.warmup)]
    ps = [subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, text=True) for _ in range(procs)]
    secs = []
    for p in ps:
        out, _ = p.communicate()
        if p.returncode:
            raise SystemExit(f'a training process failed (exit {p.returncode}); run with --child to see why')
        secs.append(float(out.strip().splitlines()[-1]))
    return sum(1.0 / s for s in secs)


def main_supernet(args) -> dict:
    """One supernet training process on all cores against data-parallel ones."""
    import signal
    import tempfile

    def stop(signum, frame):
        raise SystemExit(128 + signum)  # run_isolated then kills the trainings it started

    signal.signal(signal.SIGTERM, stop)

    from smnas.benchmarks.timing import supernet_step_seconds

    one, ddp = [], []
    with tempfile.TemporaryDirectory(prefix='parallelism_') as tmp:
        for r in range(args.rounds):
            one.append(supernet_step_seconds(args.config, 1, args.iters, Path(tmp) / f'one{r}'))
            ddp.append(supernet_step_seconds(args.config, args.cores, args.iters, Path(tmp) / f'ddp{r}'))
            print(f'[parallelism] round {r + 1}/{args.rounds}: one process {one[-1]:.2f} s/step, '
                  f'{args.cores} processes {ddp[-1]:.2f} s/step', flush=True)
    a, b = statistics.median(one), statistics.median(ddp)
    print(f'[parallelism] supernet, {args.cores} cores: one process / {args.cores} data-parallel processes '
          f'= {a / b:.2f}x ({a:.2f} vs {b:.2f} s per sandwich step, medians of {args.rounds} rounds)')
    return dict(config=args.config, supernet=True, cores=args.cores, iters=args.iters,
                one_process_step_s=one, data_parallel_step_s=ddp, one_over_data_parallel=a / b)


def scoring_hours(tasks, options, jobs: int, cores: int, store: Path) -> float:
    """Hours that ``jobs`` scoring processes take for ``tasks``, from their start to the last
    score, measured in a child process so that both ways pay for starting up."""
    env = dict(os.environ, OMP_NUM_THREADS=str(cores if jobs == 1 else 1))
    call = store.with_suffix('.call.pkl')
    call.parent.mkdir(parents=True, exist_ok=True)
    call.write_bytes(pickle.dumps(dict(tasks=tasks, store=str(store), options=options, jobs=jobs)))
    cmd = [sys.executable, '-c',
           'import pickle, sys; from smnas.register import register_all_modules; '
           'from smnas.benchmarks.scoring import score_subnets; register_all_modules(); '
           'score_subnets(**pickle.loads(open(sys.argv[1], "rb").read()))', str(call)]
    t0 = time.perf_counter()
    subprocess.run(cmd, env=env, check=True, stdout=subprocess.DEVNULL)
    return (time.perf_counter() - t0) / 3600


def main_scoring(args) -> dict:
    """One scoring process on all cores against one single-thread worker per core."""
    import tempfile

    from smnas.benchmarks.scoring import Scorer, ScoringOptions
    from smnas.benchmarks.store import JsonStore
    from smnas.benchmarks.timing import ends_and_random
    from smnas.data.prepare import prepare_data
    from smnas.engine import read_config
    from smnas.engine.jobs import train_supernet
    from supernet.space import ModularSpace

    cfg = read_config(args.config)
    prepare_data(cfg.get('prepare_data'))
    subnets = ends_and_random(ModularSpace.from_dict(dict(cfg.model.space)), args.subnets, seed=0)
    options = ScoringOptions(bootstrap=args.bootstrap)
    one, many, scores = [], [], {}
    with tempfile.TemporaryDirectory(prefix='parallelism_') as tmp:
        ckpt = args.checkpoint
        if not ckpt:  # a few steps: the scores' cost, not their values, is measured
            short = read_config(args.config, {'train_cfg.max_iters': 3,
                                              'default_hooks.checkpoint.interval': 3})
            short.val_dataloader = short.val_cfg = short.val_evaluator = None
            (Path(tmp) / 'supernet').mkdir()
            short.dump(str(Path(tmp) / 'supernet' / 'config.py'))
            ckpt = str(train_supernet(Path(tmp) / 'supernet' / 'config.py', Path(tmp) / 'supernet', 3,
                                      Path(tmp) / 'supernet' / 'train.log'))
        for r in range(args.rounds):
            for jobs, out in ((1, one), (args.cores, many)):
                run_dir = Path(tmp) / f'jobs{jobs}_{r}'
                tasks = [(a, Scorer(cfg, ckpt, str(run_dir / 'eval'))) for a in subnets]
                hours = scoring_hours(tasks, options, jobs, args.cores, run_dir / 'state.json')
                out.append(len(subnets) / hours)
                scores[jobs] = JsonStore(run_dir / 'state.json').read()['inherited']
            print(f'[parallelism] round {r + 1}/{args.rounds}: one process {one[-1]:.1f} subnets/h, '
                  f'{args.cores} workers {many[-1]:.1f} subnets/h', flush=True)
    a, b = statistics.median(one), statistics.median(many)
    diff = {k: max(abs(scores[1][s][k] - scores[args.cores][s][k]) for s in subnets)
            for k in ('mAP', 'val_loss')}
    print(f'[parallelism] scoring {len(subnets)} subnets, {args.cores} cores: {args.cores} workers / one '
          f'process = {b / a:.2f}x ({b:.1f} vs {a:.1f} subnets/h, medians of {args.rounds} rounds); '
          f'largest score difference: mAP {diff["mAP"]:.2g}, val loss {diff["val_loss"]:.2g}')
    return dict(config=args.config, scoring=True, cores=args.cores, subnets=subnets, bootstrap=args.bootstrap,
                checkpoint=args.checkpoint, one_process_subnets_per_h=one, workers_subnets_per_h=many,
                workers_over_one=b / a, largest_score_difference=diff)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('config', help='a detector config (e.g. an exported subnet)')
    p.add_argument('--cores', type=int, default=os.cpu_count() or 1)
    p.add_argument('--iters', type=int, default=10, help='timed training steps per process')
    p.add_argument('--warmup', type=int, default=2)
    p.add_argument('--batch', type=int, default=4)
    p.add_argument('--rounds', type=int, default=3)
    p.add_argument('--supernet', action='store_true',
                   help='CONFIG is a supernet: one training process against data-parallel ones')
    p.add_argument('--scoring', action='store_true',
                   help='CONFIG is a supernet: score subnets in one process against one worker per core')
    p.add_argument('--subnets', type=int, default=4, help='--scoring: subnets scored (min, max, random)')
    p.add_argument('--bootstrap', type=int, default=50, help="--scoring: resamples of each score's SE")
    p.add_argument('--checkpoint', help='--scoring: the supernet (default: one trained here for 3 steps)')
    p.add_argument('--json')
    p.add_argument('--child', action='store_true', help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        print(child(args.config, args.iters, args.batch, args.warmup))
        return None
    out = (main_supernet(args) if args.supernet else main_scoring(args) if args.scoring
           else main_processes(args))
    out['command'] = 'python ' + ' '.join([sys.argv[0]] + (argv if argv is not None else sys.argv[1:]))
    if args.json:
        from smnas.utils import atomic_write_json, collect_env_versions

        out['versions'] = collect_env_versions()
        atomic_write_json(args.json, out, indent=1)
    else:
        print(json.dumps(out))
    return out


def main_processes(args) -> dict:
    """One process on all cores against one single-thread process per core."""
    all_cores, per_core = [], []
    for r in range(args.rounds):
        all_cores.append(run(args.config, 1, args.cores, args))
        per_core.append(run(args.config, args.cores, 1, args))
        print(f'[parallelism] round {r + 1}/{args.rounds}: one on all {all_cores[-1]:.3f} steps/s, '
              f'one per core {per_core[-1]:.3f} steps/s', flush=True)
    a, b = statistics.median(all_cores), statistics.median(per_core)
    print(f'[parallelism] {args.cores} cores: one per core / one on all = {b / a:.2f}x '
          f'({b:.3f} vs {a:.3f} training steps/s, medians of {args.rounds} rounds)')
    return dict(config=args.config, cores=args.cores, batch=args.batch, iters=args.iters,
                one_on_all_steps_per_s=all_cores, one_per_core_steps_per_s=per_core,
                per_core_over_all=b / a)

if __name__ == '__main__':
    main()
