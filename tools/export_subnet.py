"""Export a subnet of a trained supernet: a plain mmdet config + its sliced weights.

    python tools/export_subnet.py configs/supernet/quickstart_synthetic.py \
        work_dirs/supernet_quickstart/iter_200.pth --subnet 64_1-21-21-12_n256_h128 --out exported/
    python tools/test.py exported/64_1-21-21-12_n256_h128.py exported/64_1-21-21-12_n256_h128.pth
"""
import argparse
import sys

from mmengine.config import Config

from supernet.export import NotASupernetCheckpoint, export_to_files
from supernet.space import InvalidSubnet


def main():
    p = argparse.ArgumentParser(description='Export a supernet subnet')
    p.add_argument('config', help='the supernet config')
    p.add_argument('checkpoint', help='a supernet checkpoint')
    p.add_argument('--subnet', required=True, help='e.g. 64_1-21-21-12_n256_h128')
    p.add_argument('--out', required=True, help='output folder')
    args = p.parse_args()
    try:
        cfg_path, ckpt_path = export_to_files(Config.fromfile(args.config), args.checkpoint, args.subnet,
                                              args.out)
    except (NotASupernetCheckpoint, InvalidSubnet) as e:
        print(f'error: {e}', file=sys.stderr)
        return 2
    print(f'config: {cfg_path}\ncheckpoint: {ckpt_path}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
