"""Retrain the finalists of a subnet search from scratch and write the final table.

    python tools/retrain.py work_dirs/quickstart_synthetic_search
    python tools/retrain.py WORK_DIR --iters 600     # the supernet's schedule, rescaled

Each finalist trains in its own process (finished ones are kept, interrupted ones
resume), is scored on the val split the search used, and measured (params, FLOPs,
latency on this device). The search's report.md gets the paper-style table.
"""
import argparse
import json
from pathlib import Path

from mmengine.config import Config, DictAction

from smnas.modular import retrain_finalists
from smnas.reports.subnet import write_subnet_report
from smnas.search.subnet import SubnetSearch


def parse_args():
    p = argparse.ArgumentParser(description='Retrain SM-NAS finalists from scratch')
    p.add_argument('work_dir', help='the work dir of tools/search_subnet.py')
    p.add_argument('--timeout', type=float, help='seconds per finalist')
    p.add_argument('--iters', type=int,
                   help="train this many iterations (the supernet's schedule rescaled; default: as is)")
    p.add_argument('--cfg-options', nargs='+', action=DictAction,
                   help='override keys of every finalist\'s training config')
    return p.parse_args()


def main():
    args = parse_args()
    records = retrain_finalists(args.work_dir, args.cfg_options, args.timeout, args.iters)
    meta = json.loads((Path(args.work_dir) / 'search_meta.json').read_text())
    search = SubnetSearch(Config.fromfile(meta['config']), meta['checkpoint'], args.work_dir,
                          meta.get('storage'), meta.get('flops_range_g'))
    out = write_subnet_report(search, search.open(), records)
    print(f'[retrain] report: {out["report"]}')


if __name__ == '__main__':
    main()
