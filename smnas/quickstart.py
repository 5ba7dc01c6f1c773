"""The quickstart job on the embedded default dataset (``smnas-quickstart``).

Generates the synthetic shapes dataset, trains the baseline detector (R-18 FPN
Faster R-CNN, GN+WS, from scratch) on it with a short CPU schedule, evaluates it
with COCO bbox mAP, and writes ``summary.json`` in the work dir. Rerunning resumes
from the last checkpoint. TensorBoard: ``tensorboard --logdir work_dirs/quickstart``.
"""
import argparse
import sys
import time
from pathlib import Path
from typing import List, Optional

from .data.synthetic import SyntheticConfig, generate
from .utils import atomic_write_json, collect_env_versions
from .utils.paths import config_path

BASELINE = 'baseline/faster-rcnn_r18-gnws_fpn_synthetic.py'


def run(work_dir: Path, data_dir: Path, iters: int, num_train: int, num_val: int,
        workers: int) -> dict:
    """Generate data, train and evaluate; returns the summary dict.

    Args:
        work_dir: logs, checkpoints, TensorBoard events and ``summary.json``.
        data_dir: where the synthetic dataset is written (reused if identical).
        iters: training iterations.
        num_train: synthetic training images.
        num_val: synthetic validation images.
        workers: dataloader worker processes.
    """
    from mmengine.runner import Runner

    from .engine import load_config

    t0 = time.time()
    info = generate(SyntheticConfig(num_train=num_train, num_val=num_val), data_dir)
    print(f'[quickstart] dataset {data_dir}: ' + ', '.join(
        f'{k} {v["images"]} images / {v["boxes"]} boxes' for k, v in info['counts'].items()))
    root = str(data_dir).rstrip('/') + '/'
    options = {
        'train_dataloader.dataset.data_root': root,
        'val_dataloader.dataset.data_root': root,
        'test_dataloader.dataset.data_root': root,
        'val_evaluator.ann_file': root + 'annotations/instances_val.json',
        'test_evaluator.ann_file': root + 'annotations/instances_val.json',
        'train_cfg.max_iters': iters,
        'train_cfg.val_interval': iters,
        'param_scheduler.1.end': iters,
        'param_scheduler.1.milestones': [int(iters * 0.75), int(iters * 0.9)],
        'default_hooks.checkpoint.interval': max(iters // 4, 1),
        'train_dataloader.num_workers': workers,
        'val_dataloader.num_workers': workers,
        'test_dataloader.num_workers': workers,
        'train_dataloader.persistent_workers': workers > 0,
        'val_dataloader.persistent_workers': workers > 0,
        'test_dataloader.persistent_workers': workers > 0,
    }
    cfg = load_config(str(config_path(BASELINE)), str(work_dir), options, resume='auto')
    runner = Runner.from_cfg(cfg)
    runner.train()
    metrics = runner.test()
    summary = dict(
        config=BASELINE, dataset=str(data_dir), iters=iters,
        metrics={k: float(v) for k, v in metrics.items() if isinstance(v, (int, float))},
        seconds=round(time.time() - t0, 1), versions=collect_env_versions())
    atomic_write_json(Path(work_dir) / 'summary.json', summary, indent=1)
    return summary


def main(argv: Optional[List[str]] = None) -> int:
    """Command line of the quickstart; returns the exit code."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--work-dir', type=Path, default=Path('work_dirs/quickstart'))
    p.add_argument('--data-dir', type=Path, default=Path('data/synthetic'))
    p.add_argument('--iters', type=int, default=200, help='training iterations (default 200)')
    p.add_argument('--train-images', type=int, default=200)
    p.add_argument('--val-images', type=int, default=50)
    p.add_argument('--workers', type=int, default=2, help='dataloader workers')
    args = p.parse_args(argv)
    s = run(args.work_dir, args.data_dir, args.iters, args.train_images, args.val_images,
            args.workers)
    m = s['metrics']
    print(f'[quickstart] done in {s["seconds"]:.0f}s: bbox mAP {m.get("coco/bbox_mAP", 0):.3f}, '
          f'mAP@0.5 {m.get("coco/bbox_mAP_50", 0):.3f}')
    print(f'[quickstart] summary: {args.work_dir / "summary.json"}; '
          f'TensorBoard: tensorboard --logdir {args.work_dir}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
