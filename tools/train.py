"""Train a detector from an mmengine/mmdet config.

    python tools/train.py configs/baseline/faster-rcnn_r18-gnws_fpn_bccd.py
    python tools/train.py CONFIG --work-dir work_dirs/run1 --resume            # latest checkpoint
    python tools/train.py CONFIG --cfg-options train_cfg.max_iters=50
    torchrun --standalone --nproc_per_node=2 tools/train.py CONFIG --launcher pytorch   # DDP (CPU: gloo)

TensorBoard: tensorboard --logdir <work-dir>
"""
from mmengine.runner import Runner

from smnas.engine import load_config, train_parser


def main():
    args = train_parser('Train a detector').parse_args()
    cfg = load_config(args.config, args.work_dir, args.cfg_options, args.launcher, args.resume, args.amp)
    Runner.from_cfg(cfg).train()


if __name__ == '__main__':
    main()
