"""Retrain the finalists of a subnet search from scratch and write the final table.

    python tools/retrain.py work_dirs/quickstart_synthetic_search
    python tools/retrain.py WORK_DIR --iters 600     # the supernet's schedule, rescaled
    # chosen subnets of a supernet config's space, no search or supernet needed:
    python tools/retrain.py work_dirs/retrain_bccd --config configs/supernet/bccd.py \
        --subnets 48_1-2-2-2_n128_h128 48_11-2-2-2_n128_h128 --iters 300

Each finalist trains in its own process (finished ones are kept, interrupted ones
resume), is scored on the val split the search used, and measured (params, FLOPs,
latency on this device). The search's report.md gets the paper-style table.
"""
import argparse
import json
import sys
from pathlib import Path

from mmengine.config import Config, DictAction

from smnas.modular import finalists_from_subnets, retrain_finalists
from smnas.reports.subnet import write_subnet_report
from smnas.search.subnet import SubnetSearch


def parse_args():
    p = argparse.ArgumentParser(description='Retrain SM-NAS finalists from scratch')
    p.add_argument('work_dir', help='the work dir of tools/search_subnet.py (or, with --subnets, any)')
    p.add_argument('--timeout', type=float, help='seconds per finalist')
    p.add_argument('--iters', type=int,
                   help="train this many iterations (the supernet's schedule rescaled; default: as is)")
    p.add_argument('--cfg-options', nargs='+', action=DictAction,
                   help='override keys of every finalist\'s training config')
    p.add_argument('--no-onnx', action='store_true',
                   help='do not export the retrained finalists to ONNX (finalists/E<i>/onnx)')
    p.add_argument('--subnets', nargs='+',
                   help='retrain these subnets (named E0, E1... in this order) instead of a search\'s '
                        'finalists; needs --config')
    p.add_argument('--config', help='with --subnets: the supernet config whose space, data and schedule '
                                    'they use (--cfg-options apply to it as well)')
    return p.parse_args()


def main():
    args = parse_args()
    if args.subnets:
        if not args.config:
            sys.exit('--subnets needs --config (the supernet config of their space)')
        from smnas.data.prepare import prepare_data
        from smnas.engine import read_config
        from supernet.space import InvalidSubnet

        cfg = read_config(args.config, args.cfg_options)
        prepare_data(cfg.get('prepare_data'))
        try:
            finalists_from_subnets(cfg, args.subnets, args.work_dir)
        except (InvalidSubnet, ValueError) as e:
            sys.exit(f'error: {e}')
        # The options are in the exported configs now (the val split included, which the
        # retraining config drops for its test split).
        args.cfg_options = None
    records = retrain_finalists(args.work_dir, args.cfg_options, args.timeout, args.iters,
                                onnx=not args.no_onnx)
    meta_path = Path(args.work_dir) / 'search_meta.json'
    if not meta_path.is_file():  # chosen subnets: no search to report on
        for r in records:
            result = f'mAP {r.mAP_retrained:.4f}' if r.retrained else f'failed: {r.error}'
            print(f'[retrain] {r.name} {r.arch}: {result}')
        return
    meta = json.loads(meta_path.read_text())
    search = SubnetSearch(Config.fromfile(meta['config']), meta['checkpoint'], args.work_dir,
                          meta.get('storage'), meta.get('flops_range_g'))
    out = write_subnet_report(search, search.open(), records)
    print(f'[retrain] report: {out["report"]}')


if __name__ == '__main__':
    main()
