"""Train a weight-sharing supernet with the sandwich rule (SM-NAS modular stage).

    python tools/train_supernet.py configs/supernet/quickstart_synthetic.py
    python tools/train_supernet.py CONFIG --work-dir work_dirs/sn --resume      # continue
    torchrun --nproc_per_node=2 tools/train_supernet.py CONFIG --launcher pytorch

TensorBoard (member losses max./min./random*., lr, max/ and min/ val mAP):
    tensorboard --logdir <work-dir>
"""
import argparse

from mmengine.runner import Runner

from smnas.data.prepare import prepare_data
from smnas.engine import DictAction, load_config


def parse_args():
    p = argparse.ArgumentParser(description='Train a supernet')
    p.add_argument('config')
    p.add_argument('--work-dir')
    p.add_argument('--resume', nargs='?', const='auto', default=None,
                   help='resume from CHECKPOINT, or without a value from the latest in the work dir')
    p.add_argument('--cfg-options', nargs='+', action=DictAction)
    p.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'], default='none')
    p.add_argument('--local_rank', '--local-rank', type=int, default=0)
    return p.parse_args()


def main():
    args = parse_args()
    cfg = load_config(args.config, args.work_dir, args.cfg_options, args.launcher, args.resume)
    prepare_data(cfg.get('prepare_data'))
    Runner.from_cfg(cfg).train()


if __name__ == '__main__':
    main()
