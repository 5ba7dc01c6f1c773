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

    python benchmarks/bench_cpu_parallelism.py \\
        benchmarks/runs/rank_truth24/subnets/56_1-21-112-12_n256_h128/56_1-21-112-12_n256_h128.py \\
        --iters 6 --rounds 3 --json benchmarks/results/cpu_parallelism.json
    python benchmarks/bench_cpu_parallelism.py configs/supernet/rank_synthetic.py --supernet --iters 8 \\
        --rounds 2 --json benchmarks/results/cpu_parallelism_supernet.json
    python benchmarks/bench_cpu_parallelism.py CONFIG --iters 3 --rounds 1    # reduced

Run it alone: it measures how the cores are shared, so another job distorts it.
"""
import argparse
import json
import os
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
    p.add_argument('--json')
    p.add_argument('--child', action='store_true', help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        print(child(args.config, args.iters, args.batch, args.warmup))
        return None
    out = main_supernet(args) if args.supernet else main_processes(args)
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
