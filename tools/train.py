"""Train a detector from an mmengine/mmdet config.

    python tools/train.py configs/baseline/faster-rcnn_r18-gnws_fpn_bccd.py
    python tools/train.py CONFIG --work-dir work_dirs/run1 --resume            # latest checkpoint
    python tools/train.py CONFIG --cfg-options train_cfg.max_iters=50
    torchrun --nproc_per_node=2 tools/train.py CONFIG --launcher pytorch       # DDP (CPU: gloo)

TensorBoard: tensorboard --logdir <work-dir>
"""
import argparse

from mmengine.runner import Runner

from smnas.engine import DictAction, load_config


def parse_args():
    p = argparse.ArgumentParser(description='Train a detector')
    p.add_argument('config', help='config file')
    p.add_argument('--work-dir', help='where logs, checkpoints and TensorBoard events go')
    p.add_argument('--resume', nargs='?', const='auto', default=None,
                   help='resume from CHECKPOINT, or without a value from the latest one in the work dir')
    p.add_argument('--cfg-options', nargs='+', action=DictAction,
                   help='override config keys, e.g. train_cfg.max_iters=100')
    p.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'], default='none')
    p.add_argument('--local_rank', '--local-rank', type=int, default=0)
    return p.parse_args()


def main():
    args = parse_args()
    cfg = load_config(args.config, args.work_dir, args.cfg_options, args.launcher, args.resume)
    Runner.from_cfg(cfg).train()


if __name__ == '__main__':
    main()
