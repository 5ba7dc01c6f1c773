"""Export a trained detector to ONNX, NMS included, check it against PyTorch and time both.

    python tools/export_onnx.py work_dirs/run/search/finalists/E0/retrain/config.py \
        work_dirs/run/search/finalists/E0/retrain/iter_600.pth --out deploy/E0
    python tools/export_onnx.py CONFIG CHECKPOINT --out DIR --check-images 0   # export only

The folder gets ``model.onnx`` and ``deploy.json``; run it without torch with
``smnas.deploy.runtime.OnnxDetector(DIR)(cv2.imread(path))`` (boxes in image pixels).
The pipeline exports every retrained finalist this way (``finalists/E<i>/onnx``).
"""
import argparse
import sys

from smnas.deploy.graph import UnsupportedDetector
from smnas.deploy.onnx import deploy
from smnas.engine import DictAction, read_config


def main():
    p = argparse.ArgumentParser(description='Export a detector to ONNX')
    p.add_argument('config', help='the detector config (e.g. a finalist retrain/config.py)')
    p.add_argument('checkpoint', help='its trained weights')
    p.add_argument('--out', required=True, help='output folder')
    p.add_argument('--check-images', type=int, default=8,
                   help='test images compared with PyTorch (0: no check, no timing)')
    p.add_argument('--repeats', type=int, default=10, help='timed runs for the latency')
    p.add_argument('--threads', type=int, help='threads of PyTorch and onnxruntime (default: torch\'s)')
    p.add_argument('--cfg-options', nargs='+', action=DictAction, help='override config keys')
    args = p.parse_args()
    import smnas.register  # noqa: F401  registers smnas's models

    cfg = read_config(args.config, args.cfg_options)
    try:
        m = deploy(cfg, args.checkpoint, args.out, args.check_images, args.repeats, args.threads)
    except UnsupportedDetector as e:
        print(f'error: {e}', file=sys.stderr)
        return 2
    print(f'exported {m["detector"]} at {m["input_hw"][1]}x{m["input_hw"][0]} to {args.out}/model.onnx')
    if 'check' in m:
        c, t = m['check'], m['latency']
        print(f'check on {c["images"]} images: {c["matched"]} of {c["reference"]} PyTorch detections '
              f'matched (max box diff {c["max_box_diff"]:.2g} px, max score diff {c["max_score_diff"]:.2g})')
        print(f'latency, batch 1, {t["threads"]} threads: PyTorch {t["torch_ms"]:.1f} ms, '
              f'onnxruntime {t["onnx_ms"]:.1f} ms')
    return 0


if __name__ == '__main__':
    sys.exit(main())
