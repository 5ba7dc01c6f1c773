"""Evaluate a trained detector (COCO bbox mAP through pycocotools).

    python tools/test.py CONFIG CHECKPOINT
    python tools/test.py CONFIG CHECKPOINT --out work_dirs/run1/test_metrics.json
"""
import argparse

from mmengine.runner import Runner

from smnas.engine import DictAction, load_config
from smnas.utils import atomic_write_json


def parse_args():
    p = argparse.ArgumentParser(description='Test a detector')
    p.add_argument('config', help='config file')
    p.add_argument('checkpoint', help='checkpoint file')
    p.add_argument('--work-dir', help='where logs go')
    p.add_argument('--out', help='write the metrics to this JSON file')
    p.add_argument('--cfg-options', nargs='+', action=DictAction,
                   help='override config keys, e.g. test_dataloader.batch_size=2')
    p.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'], default='none')
    p.add_argument('--local_rank', '--local-rank', type=int, default=0)
    return p.parse_args()


def main():
    args = parse_args()
    cfg = load_config(args.config, args.work_dir, args.cfg_options, args.launcher)
    cfg.load_from = args.checkpoint
    metrics = Runner.from_cfg(cfg).test()
    for k, v in metrics.items():
        print(f'{k}: {v}')
    if args.out:
        atomic_write_json(args.out, dict(config=args.config, checkpoint=args.checkpoint,
                                         metrics={k: float(v) if isinstance(v, (int, float)) else str(v)
                                                  for k, v in metrics.items()}), indent=1)


if __name__ == '__main__':
    main()
