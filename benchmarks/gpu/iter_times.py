"""Training speed of the from-scratch runs of a GPU rank run, read from their mmengine logs.

The GPU machine sends back its trainings' logs (``logs.tgz`` from the run's command,
benchmarks/README.md, "rank fidelity on a GPU"); this reads, per training, the iteration
time mmengine logged (each value is the mean over its logging window) and groups the
trainings by how they shared the GPU:

    python benchmarks/gpu/iter_times.py "12 jobs, no MPS=/tmp/gpulogs" "1 job=/tmp/gl2/tmp/a" \\
        --json benchmarks/results/gpu_rank_sharing.json
"""
import argparse
import re
import statistics
import sys
from pathlib import Path

ITER = re.compile(r'Iter\(train\) \[\s*(\d+)/(\d+)\].*?\btime: ([0-9.]+)\s+data_time: ([0-9.]+)')


def training_times(log: Path) -> dict:
    """The logged train iterations of one mmengine log: ``{iter: (time, data_time)}``."""
    out = {}
    for line in log.read_text(errors='replace').splitlines():
        m = ITER.search(line)
        if m:
            out[int(m.group(1))] = (float(m.group(3)), float(m.group(4)))
    return out


def group(root: Path) -> dict:
    """Every training under ``root`` (one mmengine log each: ``<run>/<stamp>/<stamp>.log``)."""
    runs = {}
    for log in sorted(root.rglob('20*.log')):
        times = training_times(log)
        if times:
            runs[str(log.parent.parent.relative_to(root))] = dict(
                logged_iters=sorted(times), seconds_per_iter=[times[i][0] for i in sorted(times)],
                data_seconds_per_iter=[times[i][1] for i in sorted(times)])
    every = [t for r in runs.values() for t in r['seconds_per_iter']]
    return dict(trainings=len(runs), mean_seconds_per_iter=statistics.fmean(every) if every else None,
                min_seconds_per_iter=min(every, default=None), max_seconds_per_iter=max(every, default=None),
                runs=runs)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('groups', nargs='+', metavar='NAME=DIR', help='a label and the folder of its logs')
    p.add_argument('--json', help='also write the results here')
    p.add_argument('--note', default='', help='what the runs were (device, commands), kept in the JSON')
    args = p.parse_args(argv)
    out = {}
    for spec in args.groups:
        name, _, root = spec.partition('=')
        if not root or not Path(root).is_dir():
            p.error(f'{spec!r}: expected NAME=DIR with an existing DIR')
        out[name] = group(Path(root))
        g = out[name]
        if g['trainings']:
            print(f'{name}: {g["trainings"]} trainings, {g["mean_seconds_per_iter"]:.3f} s/iter '
                  f'({g["min_seconds_per_iter"]:.3f}-{g["max_seconds_per_iter"]:.3f})')
        else:
            print(f'{name}: no logged train iterations under {root}')
    if args.json:
        from smnas.utils import atomic_write_json

        atomic_write_json(args.json, dict(groups=out, note=args.note, command=' '.join(sys.argv)), indent=1)
    return 0


if __name__ == '__main__':
    sys.exit(main())
