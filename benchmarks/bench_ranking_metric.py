"""The COCO evaluation inside inherited-weight scoring: mmdet's ``CocoMetric`` against the
search's ``RankingCocoMetric`` on the same detections, timed side by side in one run
(interleaved repeats, medians), with their mAPs compared.

Detections are made from a COCO ground truth as a trained detector's would look: per
object a few boxes around it (some with the wrong class) and some background boxes, up
to ``--per-image`` per image, with random scores.

    python benchmarks/bench_ranking_metric.py data/synthetic_rank/annotations/instances_val.json \
        --json benchmarks/results/ranking_metric.json
"""
import argparse
import contextlib
import io
import statistics
import time

import numpy as np

from smnas.register import register_all_modules
from smnas.utils import atomic_write_json, collect_env_versions


def fake_results(gt, per_image: int, seed: int = 0) -> list:
    """(gt, pred) pairs as mmdet's ``CocoMetric.process`` stores them."""
    rng = np.random.default_rng(seed)
    cats = gt.getCatIds()
    out = []
    for img_id in gt.getImgIds():
        info = gt.loadImgs([img_id])[0]
        w_img, h_img = info['width'], info['height']
        boxes, labels = [], []
        for a in gt.loadAnns(gt.getAnnIds(imgIds=[img_id])):
            x, y, w, h = a['bbox']
            for _ in range(3):
                j = rng.normal(0, 0.1, 4) * [w, h, w, h]
                boxes.append([x + j[0], y + j[1], x + w + j[2], y + h + j[3]])
                wrong = rng.random() >= 0.8  # a wrong class now and then
                labels.append(rng.integers(len(cats)) if wrong else cats.index(a['category_id']))
        while len(boxes) < per_image:
            bx, by = rng.random() * w_img * 0.8, rng.random() * h_img * 0.8
            boxes.append([bx, by, bx + rng.random() * w_img * 0.2 + 2, by + rng.random() * h_img * 0.2 + 2])
            labels.append(rng.integers(len(cats)))
        boxes, labels = np.array(boxes[:per_image]), np.array(labels[:per_image])
        out.append(({}, dict(img_id=img_id, bboxes=boxes, scores=rng.random(len(boxes)), labels=labels)))
    return out


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('ann_file', help='a COCO ground truth (e.g. data/synthetic_rank/annotations/'
                   'instances_val.json)')
    p.add_argument('--per-image', type=int, default=100, help='detections per image')
    p.add_argument('--repeats', type=int, default=3)
    p.add_argument('--json', help='write the results here')
    args = p.parse_args()
    register_all_modules()
    from mmdet.evaluation.metrics import CocoMetric

    from smnas.evaluation.ranking_metric import RankingCocoMetric

    metrics = {'mmdet CocoMetric': CocoMetric(ann_file=args.ann_file),
               'RankingCocoMetric': RankingCocoMetric(ann_file=args.ann_file)}
    gt = metrics['RankingCocoMetric']._coco_api
    classes = [c['name'] for c in gt.loadCats(gt.getCatIds())]
    for m in metrics.values():
        m.dataset_meta = dict(classes=classes)
    results = fake_results(gt, args.per_image)
    times = {k: [] for k in metrics}
    maps = {}
    for _ in range(args.repeats):
        for name, m in metrics.items():  # interleaved: drift on a noisy machine hits both alike
            with contextlib.redirect_stdout(io.StringIO()):
                t0 = time.perf_counter()
                maps[name] = m.compute_metrics(results)
                times[name].append(time.perf_counter() - t0)
    med = {k: statistics.median(v) for k, v in times.items()}
    ref, lean = maps['mmdet CocoMetric'], maps['RankingCocoMetric']
    out = dict(ann_file=args.ann_file, images=len(results), detections_per_image=args.per_image,
               repeats=args.repeats, seconds=med, times=times,
               speedup=med['mmdet CocoMetric'] / med['RankingCocoMetric'],
               mAP=dict(mmdet=ref['bbox_mAP'], ranking=lean['bbox_mAP']),
               mAP_50=dict(mmdet=ref['bbox_mAP_50'], ranking=lean['bbox_mAP_50']),
               versions=collect_env_versions())
    for name in metrics:
        print(f'{name:18s} {med[name]:7.2f} s (median of {args.repeats})  mAP {maps[name]["bbox_mAP"]:.4f}  '
              f'mAP@0.5 {maps[name]["bbox_mAP_50"]:.4f}')
    print(f'RankingCocoMetric is {out["speedup"]:.2f}x faster on {len(results)} images x '
          f'{args.per_image} detections')
    if args.json:
        atomic_write_json(args.json, out, indent=1)


if __name__ == '__main__':
    main()
