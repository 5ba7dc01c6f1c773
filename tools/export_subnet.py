"""Export a subnet of a trained supernet: a plain mmdet config + its sliced weights.

    python tools/export_subnet.py configs/supernet/quickstart_synthetic.py \
        work_dirs/supernet_quickstart/iter_200.pth --subnet 64_1-21-21-12_n256_h128 --out exported/
    python tools/test.py exported/64_1-21-21-12_n256_h128.py exported/64_1-21-21-12_n256_h128.pth
    # the config alone (to train the subnet from scratch; no supernet needed):
    python tools/export_subnet.py configs/supernet/bccd.py --subnet 48_1-2-2-2_n128_h128 --out exported/
    python tools/export_subnet.py configs/supernet/coco_cascade3.py --subnet max --out exported/  # R50
    python tools/export_subnet.py configs/supernet/quickstart_synthetic.py --subnet min --out exported/ \
        --cfg-options model.architecture.structure=x101_fpn-p2p5-p6_rpn_rcnn_160x120

The backbone keeps the block family of the config's structure (basic for R18/R34,
bottleneck for R50/R101, grouped bottleneck for X50/X101).
"""
import argparse
import sys

from mmengine.config import Config, DictAction

from smnas.modular.export import NotASupernetCheckpoint, export_config, export_to_files
from smnas.modular.structure import UnsupportedStructure, with_structure_space
from supernet.space import InvalidSubnet


def main():
    p = argparse.ArgumentParser(description='Export a supernet subnet')
    p.add_argument('config', help='the supernet config')
    p.add_argument('checkpoint', nargs='?',
                   help='a supernet checkpoint (without one, only the config is written)')
    p.add_argument('--subnet', required=True, help='max, min or a subnet, e.g. 64_1-21-21-12_n256_h128')
    p.add_argument('--out', required=True, help='output folder')
    p.add_argument('--cfg-options', nargs='+', action=DictAction, help='override config keys')
    args = p.parse_args()
    try:
        cfg = Config.fromfile(args.config)
        if args.cfg_options:
            cfg.merge_from_dict(args.cfg_options)
        cfg = with_structure_space(cfg)
        if args.checkpoint is None:
            cfg_path, ckpt_path = export_config(cfg, args.subnet, args.out), None
        else:
            cfg_path, ckpt_path = export_to_files(cfg, args.checkpoint, args.subnet, args.out)
    except (NotASupernetCheckpoint, InvalidSubnet, UnsupportedStructure) as e:
        print(f'error: {e}', file=sys.stderr)
        return 2
    print(f'config: {cfg_path}' + (f'\ncheckpoint: {ckpt_path}' if ckpt_path else ''))
    return 0


if __name__ == '__main__':
    sys.exit(main())
