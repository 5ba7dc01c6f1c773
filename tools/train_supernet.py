"""Train a weight-sharing supernet (SM-NAS modular stage): several subnets per step, sharing weights.

    python tools/train_supernet.py configs/supernet/quickstart_synthetic.py
    python tools/train_supernet.py CONFIG --work-dir work_dirs/sn --resume      # continue

TensorBoard (member losses max./min./random*., lr, max/ and min/ val mAP):
    tensorboard --logdir <work-dir>
"""
from mmengine.runner import Runner

from smnas.data.prepare import prepare_data
from smnas.engine import load_config, train_parser
from smnas.modular.structure import with_structure_space


def main():
    args = train_parser('Train a supernet').parse_args()
    cfg = with_structure_space(load_config(args.config, args.work_dir, args.cfg_options, args.launcher,
                                           args.resume, args.amp))
    prepare_data(cfg.get('prepare_data'))
    Runner.from_cfg(cfg).train()


if __name__ == '__main__':
    main()
