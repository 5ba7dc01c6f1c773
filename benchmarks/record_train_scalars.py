"""Record chosen training scalars of finished ``tools/train_supernet.py`` runs in a results
file: for side checks of a supernet recipe's training dynamics (does a loss term stay
bounded?) that are single runs, not a benchmark of their own.

    .venv/bin/python tools/train_supernet.py configs/supernet/rank_synthetic.py --work-dir W \\
        --cfg-options train_cfg.max_iters=200 'model.extremes=[max]' model.num_random_subnets=2 \\
        model.sampling=fair model.distill=outputs default_hooks.logger.interval=25
    .venv/bin/python benchmarks/record_train_scalars.py W --name positives \\
        --keys grad_norm random0.loss_distill_reg random1.loss_distill_reg \\
        --json benchmarks/results/distill_box_check.json --command "the training command above"

Each run adds or replaces ``runs[NAME]``; other entries of the file stay.
"""
import argparse
import json
from pathlib import Path

from smnas.utils.env import collect_env_versions
from smnas.utils.io import atomic_write_json


def logged_scalars(work_dir: Path, keys) -> dict:
    """The logged training scalars ``keys`` of the run in ``work_dir`` (mmengine's
    ``*/vis_data/scalars.json``, or the timestamped ``*/vis_data/<stamp>.json`` where a run
    wrote no ``scalars.json``), by iteration.

    Returns:
        ``{key: {iteration: value}}``, iterations as strings.

    Raises:
        SystemExit: no training log there, or a key it never logged.
    """
    logs = sorted(work_dir.glob('*/vis_data/scalars.json')) or sorted(work_dir.glob('*/vis_data/2*.json'))
    if not logs:
        raise SystemExit(f'{work_dir}: no training log (*/vis_data/scalars.json)')
    out = {k: {} for k in keys}
    for log in logs:  # a resumed run writes one per start: later ones win
        for line in log.read_text().splitlines():
            row = json.loads(line)
            if 'iter' not in row:
                continue
            for k in keys:
                if k in row:
                    out[k][str(row['iter'])] = row[k]
    missing = [k for k, v in out.items() if not v]
    if missing:
        raise SystemExit(f'{work_dir}: never logged {missing}')
    return out


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('work_dir', type=Path)
    p.add_argument('--name', required=True, help='the run\'s name in the results file')
    p.add_argument('--keys', nargs='+', required=True, help='logged scalars to keep, e.g. grad_norm')
    p.add_argument('--json', required=True, type=Path)
    p.add_argument('--command', default='', help='the command that trained the run')
    p.add_argument('--note', default='', help='what the run was, how it ran')
    args = p.parse_args(argv)
    record = json.loads(args.json.read_text()) if args.json.is_file() else {}
    record.setdefault('runs', {})[args.name] = dict(
        scalars=logged_scalars(args.work_dir, args.keys), command=args.command, note=args.note)
    record['versions'] = collect_env_versions()
    atomic_write_json(args.json, record, indent=1)
    for k, v in record['runs'][args.name]['scalars'].items():
        print(f'{args.name} {k}: ' + ', '.join(f'{i} {x:.4g}' for i, x in v.items()))
    return record


if __name__ == '__main__':
    main()
