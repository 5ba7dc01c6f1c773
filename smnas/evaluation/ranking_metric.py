"""The COCO bbox mAP and mAP@0.5 of mmdet's ``CocoMetric``, computed for ranking only.

``CocoMetric`` writes the detections to a JSON file, reads them back, matches them to the
ground truth for each of 4 area ranges and accumulates precision for 12 (area, maximum
detections) cells, of which a search reads two numbers taken from one cell: all areas at
the most detections. :class:`RankingCocoMetric` matches and accumulates that cell alone,
from the detections in memory, with the same parameters (IoU 0.50:0.95, the last of
``proposal_nums`` detections per image), so its mAP is mmdet's before mmdet rounds it to
three decimals (kept unrounded: a ranking tells more subnets apart that way). With
``bootstrap`` resamples it also gives the mAP's standard error over the val images
(:mod:`smnas.evaluation.bootstrap`), from the same per-image matching.
"""
import contextlib
import io
from typing import Dict

import numpy as np
from mmdet.evaluation.metrics import CocoMetric
from mmdet.registry import METRICS


@METRICS.register_module()
class RankingCocoMetric(CocoMetric):
    """``bbox_mAP`` and ``bbox_mAP_50`` (prefix ``coco``) as mmdet's ``CocoMetric`` computes
    them, for bbox results and a COCO ``ann_file``.

    Args:
        bootstrap: resamples of the val images for ``bbox_mAP_se``, the mAP's standard error
            (0: none). Only precision is re-accumulated per resample, from the matching done
            once: about 0.12 s per resample at 1000 val images (``benchmarks/README.md``).
        bootstrap_seed: seed of the resamples (every subnet resamples the same images).
        **kwargs: as ``CocoMetric``.
    """

    def __init__(self, *args, bootstrap: int = 0, bootstrap_seed: int = 0, **kwargs):
        super().__init__(*args, **kwargs)
        self.bootstrap = int(bootstrap or 0)
        self.bootstrap_seed = int(bootstrap_seed)

    def compute_metrics(self, results: list) -> Dict[str, float]:
        from pycocotools.cocoeval import COCOeval

        from .bootstrap import bootstrap_se

        if self._coco_api is None:
            raise ValueError('RankingCocoMetric needs the COCO ground truth: give ann_file')
        if list(self.metrics) != ['bbox']:
            raise ValueError(f'RankingCocoMetric scores bbox results only, not {self.metrics}')
        if self.cat_ids is None:
            self.cat_ids = self._coco_api.get_cat_ids(cat_names=self.dataset_meta['classes'])
        if self.img_ids is None:
            self.img_ids = self._coco_api.get_img_ids()
        dets = []
        for _, pred in results:
            boxes = np.asarray(pred['bboxes'], dtype=np.float64).reshape(-1, 4)
            for (x1, y1, x2, y2), score, label in zip(boxes, pred['scores'], pred['labels']):
                dets.append(dict(image_id=pred['img_id'], category_id=self.cat_ids[int(label)],
                                 bbox=[x1, y1, x2 - x1, y2 - y1], score=float(score)))
        if not dets:
            return dict(bbox_mAP=0.0, bbox_mAP_50=0.0, **(dict(bbox_mAP_se=0.0) if self.bootstrap else {}))
        with contextlib.redirect_stdout(io.StringIO()):  # pycocotools prints its progress
            e = COCOeval(self._coco_api, self._coco_api.loadRes(dets), 'bbox')
            p = e.params
            p.catIds, p.imgIds = list(self.cat_ids), list(self.img_ids)
            p.iouThrs = np.asarray(self.iou_thrs)
            p.areaRng, p.areaRngLbl = [p.areaRng[0]], [p.areaRngLbl[0]]  # all areas
            p.maxDets = [list(self.proposal_nums)[-1]]
            e.evaluate()
            e.accumulate()
        prec = e.eval['precision'][:, :, :, 0, 0]  # iou, recall, class

        def mean(a):
            return float(a[a > -1].mean()) if (a > -1).any() else -1.0
        at_50 = np.isclose(p.iouThrs, 0.5)
        out = dict(bbox_mAP=mean(prec), bbox_mAP_50=mean(prec[at_50][0]) if at_50.any() else -1.0)
        if self.bootstrap:
            out['bbox_mAP_se'] = bootstrap_se(e, self.bootstrap, self.bootstrap_seed)
        return out
