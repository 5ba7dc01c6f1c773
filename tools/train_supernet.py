"""Train a weight-sharing supernet (SM-NAS modular stage): several subnets per step, sharing weights.

    python tools/train_supernet.py configs/supernet/quickstart_synthetic.py
    python tools/train_supernet.py CONFIG --work-dir work_dirs/sn --resume      # continue
    # few-shot: one supernet per neck width, each from the one-shot one (then search with
    # every part's checkpoint: tools/search_subnet.py CONFIG --checkpoint P128 P256 P512)
    python tools/train_supernet.py CONFIG --work-dir work_dirs/sn_n128 --iters 100 \
        --cfg-options 'model.part.neck_channels=[128]' load_from=work_dirs/sn/iter_300.pth

TensorBoard (member losses max./min./random*., lr, max/ and min/ val mAP):
    tensorboard --logdir <work-dir>
"""
from mmengine.runner import Runner

from smnas.data.prepare import prepare_data
from smnas.engine import load_config, rescale_schedule, train_parser
from smnas.modular.structure import with_structure_space


def main():
    p = train_parser('Train a supernet')
    p.add_argument('--iters', type=int, help="train this many steps: the config's schedule rescaled "
                                             '(its decay steps keep their place), e.g. for a few-shot part')
    args = p.parse_args()
    cfg = with_structure_space(load_config(args.config, args.work_dir, args.cfg_options, args.launcher,
                                           args.resume, args.amp))
    if args.iters:
        rescale_schedule(cfg, args.iters)
    prepare_data(cfg.get('prepare_data'))
    Runner.from_cfg(cfg).train()


if __name__ == '__main__':
    main()
