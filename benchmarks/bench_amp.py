"""Mixed-precision supernet training against float32, side by side on this machine.

Trains CONFIG's supernet ``--iters`` sandwich steps in float32 and with ``amp`` (bf16 on a
CPU, fp16 on a GPU: ``smnas.engine.precision``), alternating ``--rounds`` times, each run in
its own process(es) as ``bench_rank_fidelity.py`` trains supernets (``--procs`` data-parallel
processes), and prints the median sandwich-step time of each and their ratio (> 1: amp is
faster). Speed only: what amp does to a training's mAP is measured by training the same
subnet both ways (benchmarks/README.md, "Mixed-precision training").

    python benchmarks/bench_amp.py configs/supernet/rank_synthetic.py --iters 8 --rounds 2 \\
        --json benchmarks/results/amp_supernet.json
    python benchmarks/bench_amp.py CONFIG --iters 3 --rounds 1              # reduced

Run it alone: another job on the machine distorts it.
"""
import argparse
import json
import os
import statistics
import sys
import tempfile
from pathlib import Path

from smnas.benchmarks.timing import supernet_step_seconds


def compare(config: str, amp: str, procs: int, iters: int, rounds: int, cfg_options=None) -> dict:
    """Median sandwich-step seconds in float32 and with ``amp``, alternating ``rounds`` times.

    Args:
        config: a supernet config.
        amp: the precision to compare with float32 ('auto', 'bf16', 'fp16').
        procs: data-parallel processes per training.
        iters: sandwich steps per training (the first 2 are not timed).
        rounds: trainings of each kind, alternated.
        cfg_options: overrides applied to both.

    Returns:
        ``fp32_step_s`` and ``amp_step_s`` (one per round) and ``fp32_over_amp`` (the ratio
        of their medians).
    """
    times = {'fp32': [], 'amp': []}
    with tempfile.TemporaryDirectory(prefix='amp_') as tmp:
        for r in range(rounds):
            for kind, value in (('fp32', False), ('amp', amp)):
                opts = dict(cfg_options or {}, amp=value)
                run_dir = Path(tmp) / f'{kind}{r}'
                times[kind].append(supernet_step_seconds(config, procs, iters, run_dir, opts))
            print(f'[amp] round {r + 1}/{rounds}: float32 {times["fp32"][-1]:.2f} s/step, '
                  f'{amp} {times["amp"][-1]:.2f} s/step', flush=True)
    a, b = statistics.median(times['fp32']), statistics.median(times['amp'])
    return dict(fp32_step_s=times['fp32'], amp_step_s=times['amp'], fp32_over_amp=a / b)


def main(argv=None):
    import signal

    def stop(signum, frame):
        raise SystemExit(128 + signum)  # the trainings it started are killed with it

    signal.signal(signal.SIGTERM, stop)
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('config', help='a supernet config')
    p.add_argument('--amp', default='auto', choices=['auto', 'bf16', 'fp16'])
    p.add_argument('--procs', type=int, default=min(2, os.cpu_count() or 1),
                   help='data-parallel processes per training (the rank benchmark uses 2)')
    p.add_argument('--iters', type=int, default=8, help='sandwich steps per training (2 warm-up)')
    p.add_argument('--rounds', type=int, default=2)
    p.add_argument('--json')
    args = p.parse_args(argv)
    from mmengine.config import Config

    from smnas.engine import with_amp

    # what --amp means on this machine ('auto': fp16 on a GPU, bf16 on a CPU)
    precision = with_amp(Config(dict(optim_wrapper=dict(type='OptimWrapper'))), args.amp).amp
    out = compare(args.config, precision, args.procs, args.iters, args.rounds)
    print(f'[amp] float32 / {precision} = {out["fp32_over_amp"]:.2f}x per sandwich step '
          f'(medians of {args.rounds} rounds, {args.procs} process(es) each)')
    from smnas.utils import atomic_write_json, collect_env_versions

    out.update(config=args.config, amp=args.amp, precision=precision, procs=args.procs, iters=args.iters,
               rounds=args.rounds,
               command='python ' + ' '.join([sys.argv[0]] + (argv if argv is not None else sys.argv[1:])),
               versions=collect_env_versions())
    if args.json:
        atomic_write_json(args.json, out, indent=1)
    else:
        print(json.dumps(out))
    return out


if __name__ == '__main__':
    main()
