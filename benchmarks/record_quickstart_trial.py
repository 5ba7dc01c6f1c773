"""Record one finished quickstart run in benchmarks/results/quickstart_trials.json: its
stage times, structure, halving rungs, finalists (mAP ± bootstrap SE, paired comparisons)
and versions, read from the run's work dir (benchmarks/README.md, quickstart trials).

    .venv/bin/smnas-quickstart --work-dir work_dirs/quickstart_1203g
    .venv/bin/python benchmarks/record_quickstart_trial.py work_dirs/quickstart_1203g --name 1203g \\
        --note "what differed from the default"
"""
import argparse
import json
import re
from pathlib import Path

FINALIST_KEYS = ('name', 'arch', 'gflops', 'mAP_inherited', 'mAP_retrained', 'mAP_se_retrained',
                 'mAP_ci95_retrained', 'mAP_50_retrained', 'latency_ms', 'params', 'train_seconds',
                 'retrain_iters', 'retrain_overrides')


def trial_record(work_dir: Path, note: str) -> dict:
    """The record of one pipeline run.

    Args:
        work_dir: the run's work dir (``pipeline.json``, ``report.md``, ``search/finalists``).
        note: what the run changed, in words.

    Returns:
        ``dict(note, stage_seconds, total_seconds, structure, input_size, finalists,
        comparisons, structural_halving, versions)``; ``structural_halving`` is empty for
        a fixed-schedule structural stage.
    """
    state = json.loads((work_dir / 'pipeline.json').read_text())
    stages = state['stages']
    finalists = json.loads((work_dir / 'search' / 'finalists' / 'finalists.json').read_text())
    report = (work_dir / 'report.md').read_text()
    fidelity = work_dir / 'structural' / 'fidelity.json'
    rungs = json.loads(fidelity.read_text())['rungs'] if fidelity.is_file() else []
    return dict(
        note=note, stage_seconds={k: v['seconds'] for k, v in stages.items()},
        total_seconds=round(sum(v['seconds'] for v in stages.values()), 1),
        structure=stages['structural']['structure'], input_size=stages['supernet'].get('input_size'),
        finalists=[{k: f.get(k) for k in FINALIST_KEYS} for f in finalists],
        # the report's paired bootstrap of each finalist against the next cheaper one
        comparisons=[line[2:] for line in report.splitlines() if re.match(r'- E\d+ - E\d+:', line)],
        structural_halving=[dict(iters=r['iters'], results=[
            {k: x.get(k) for k in ('arch', 'mAP', 'mAP_se', 'latency_ms')} for x in r['results']])
            for r in rungs],
        versions=state['versions'])


def main():
    from smnas.utils import atomic_write_json

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('work_dir', type=Path)
    p.add_argument('--name', required=True, help='the run\'s key in the record')
    p.add_argument('--note', required=True, help='what the run changed')
    p.add_argument('--json', type=Path, default=Path('benchmarks/results/quickstart_trials.json'))
    args = p.parse_args()
    record = json.loads(args.json.read_text()) if args.json.is_file() else dict(runs={})
    record['runs'][args.name] = entry = trial_record(args.work_dir, args.note)
    atomic_write_json(args.json, record, indent=1)
    maps = '; '.join(f'{f["name"]} {f["mAP_retrained"]} ± {f["mAP_se_retrained"]}'
                     for f in entry['finalists'])
    print(f'{args.name}: {entry["total_seconds"] / 60:.1f} min, {entry["structure"]}; {maps}')
    for c in entry['comparisons']:
        print(' ', c)


if __name__ == '__main__':
    main()
