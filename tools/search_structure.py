"""SM-NAS structural search: NSGA-II over backbone/neck/RPN/head/input, every candidate trained.

    python tools/search_structure.py configs/structural/quickstart_synthetic.py
    python tools/search_structure.py CONFIG --work-dir work_dirs/s1 --workers 2
    # more machines: same command, same --work-dir on shared storage, one database URL
    python tools/search_structure.py CONFIG --work-dir /shared/s1 --storage postgresql://host/db
    python tools/search_structure.py CONFIG --report-only

Rerunning the same command resumes the search; finished candidates are never retrained.
Outputs in the work dir: report.md, pareto.png, trials.csv, models/C0-C5.py, tensorboard/.
"""
import argparse

from mmengine.config import DictAction

from smnas.data.prepare import prepare_data
from smnas.engine import default_work_dir, read_config
from smnas.reports.structural import write_structural_report
from smnas.search.structural import StructuralSearch


def parse_args():
    p = argparse.ArgumentParser(description='SM-NAS structural search')
    p.add_argument('config')
    p.add_argument('--work-dir', help='default: work_dirs/<config name>')
    p.add_argument('--storage', help='Optuna storage URL (default: sqlite in the work dir)')
    p.add_argument('--workers', type=int, default=1, help='candidates trained at once here')
    p.add_argument('--report-only', action='store_true', help='write the report of the study as it is')
    p.add_argument('--cfg-options', nargs='+', action=DictAction, help='override config keys')
    return p.parse_args()


def main():
    args = parse_args()
    cfg = read_config(args.config, args.cfg_options)
    work_dir = args.work_dir or default_work_dir(args.config)
    prepare_data(cfg.get('prepare_data'))
    search = StructuralSearch(cfg, work_dir, args.storage, args.workers)
    study = search.open() if args.report_only else search.run()
    out = write_structural_report(search, study)
    print(f'[structural] report: {out["report"]}')


if __name__ == '__main__':
    main()
