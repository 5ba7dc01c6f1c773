"""The noise of one COCO bbox mAP: a bootstrap over the val images.

One trained model scored on N val images gives one mAP; another draw of N images from
the same distribution would give another. Resampling the images with replacement and
re-scoring gives that spread without training again, and resampling the same images
for two models (a paired bootstrap) says whether their difference is larger than what
the choice of images alone explains.

COCO's per-image matching (``COCOeval.evaluate``) is run once; each resample only
re-accumulates precision over the drawn images, so 200 resamples of 50-1000 images take
seconds. The point estimate equals mmdet's ``coco/bbox_mAP`` (``CocoMetric`` evaluates
at maxDets 100/300/1000 and reports AP at the last).
"""
import contextlib
import io
import json
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Union

import numpy as np

Detections = Union[str, Path, List[dict]]
MAX_DETS = (100, 300, 1000)  # mmdet CocoMetric's proposal_nums


def _load(dets: Detections) -> List[dict]:
    if isinstance(dets, (str, Path)):
        return json.loads(Path(dets).read_text())
    return list(dets)


def accumulated_map(e, sample: np.ndarray) -> float:
    """mAP (IoU 0.50:0.95, all areas, the most detections) over the images ``sample``
    (indices into the evaluated images; repeats allowed) of a ``COCOeval`` whose per-image
    matching has run (``evaluate()``); its own ``eval`` is overwritten.

    Only the (all areas, most detections) cell is accumulated: pycocotools computes
    each (area, max detections) cell on its own, and the others would cost that many
    times the time for numbers this score does not read.
    """
    n_img = len(e._paramsEval.imgIds)
    n_area = len(e._paramsEval.areaRng)
    n_cat = len(e._paramsEval.catIds)
    orig = e.evalImgs
    ids = [e._paramsEval.imgIds[i] for i in sample]
    e.evalImgs = [orig[k * n_area * n_img + i] for k in range(n_cat) for i in sample]  # area 0: all
    pe, p = e._paramsEval, e.params
    saved = pe.imgIds, p.imgIds, pe.areaRng, p.areaRng, pe.maxDets, p.maxDets
    pe.imgIds = p.imgIds = ids
    pe.areaRng = p.areaRng = [pe.areaRng[0]]
    pe.maxDets = p.maxDets = [pe.maxDets[-1]]
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            e.accumulate()
    finally:
        pe.imgIds, p.imgIds, pe.areaRng, p.areaRng, pe.maxDets, p.maxDets = saved
        e.evalImgs = orig
    prec = e.eval['precision'][:, :, :, 0, 0]  # iou, recall, class (area all, most detections)
    valid = prec[prec > -1]
    return float(valid.mean()) if valid.size else 0.0


def resamples(images: int, n: int, seed: int) -> List[np.ndarray]:
    """``n`` draws of ``images`` image indices with replacement (the same seed, the same draws)."""
    rng = np.random.default_rng(seed)
    return [rng.integers(0, images, images) for _ in range(n)]


def bootstrap_se(e, n: int, seed: int = 0) -> float:
    """The standard deviation of :func:`accumulated_map` over ``n`` resamples of the images
    of a matched ``COCOeval`` (0 with fewer than 2 resamples)."""
    if n < 2:
        return 0.0
    boots = [accumulated_map(e, s) for s in resamples(len(e._paramsEval.imgIds), n, seed)]
    return float(np.std(boots, ddof=1))


class ImageBootstrap:
    """Bootstrap of the bbox mAP of detections over the images of a COCO ground truth.

    Args:
        ann_file: the COCO-format ground truth (e.g. ``annotations/instances_val.json``).
        img_ids: images to score (default: every image of ``ann_file``; give the
            subset when the detections cover only some images).
    """

    def __init__(self, ann_file: Union[str, Path], img_ids: Optional[Sequence[int]] = None):
        from pycocotools.coco import COCO

        with contextlib.redirect_stdout(io.StringIO()):
            self.gt = COCO(str(ann_file))
        self.img_ids = sorted(img_ids) if img_ids is not None else sorted(self.gt.getImgIds())

    def _evaluated(self, dets: Detections):
        """COCOeval after the per-image matching, or None when nothing was detected."""
        from pycocotools.cocoeval import COCOeval

        dets = [d for d in _load(dets) if d['image_id'] in set(self.img_ids)]
        if not dets:
            return None
        with contextlib.redirect_stdout(io.StringIO()):
            e = COCOeval(self.gt, self.gt.loadRes(dets), 'bbox')
            e.params.imgIds = list(self.img_ids)
            e.params.maxDets = list(MAX_DETS)
            e.evaluate()
        return e

    def score(self, dets: Detections, n: int = 200, seed: int = 0) -> Dict[str, object]:
        """The mAP of ``dets`` and its bootstrap spread.

        Args:
            dets: COCO result dicts (``image_id``, ``category_id``, ``bbox`` xywh,
                ``score``) or the path of their JSON (mmdet's ``<prefix>.bbox.json``).
            n: resamples.
            seed: seed of the resamples (the same seed draws the same images).

        Returns:
            ``dict(mAP, se, ci95=[low, high], resamples, images)``: ``se`` is the
            standard deviation of the resampled mAPs, ``ci95`` their 2.5 and 97.5
            percentiles.
        """
        e = self._evaluated(dets)
        if e is None:
            return dict(mAP=0.0, se=0.0, ci95=[0.0, 0.0], resamples=n, images=len(self.img_ids))
        point = accumulated_map(e, np.arange(len(self.img_ids)))
        boots = np.array([accumulated_map(e, s) for s in resamples(len(self.img_ids), n, seed)])
        return dict(mAP=point, se=float(boots.std(ddof=1)) if n > 1 else 0.0,
                    ci95=[float(np.percentile(boots, 2.5)), float(np.percentile(boots, 97.5))],
                    resamples=n, images=len(self.img_ids))

    def compare(self, dets_a: Detections, dets_b: Detections, n: int = 200,
                seed: int = 0) -> Dict[str, object]:
        """Paired bootstrap of mAP(a) - mAP(b): both scored on the same resampled images.

        Returns:
            ``dict(diff, ci95=[low, high], p_a_better, within_noise)``: ``within_noise``
            is True when the 95% interval of the difference contains 0.
        """
        ea, eb = self._evaluated(dets_a), self._evaluated(dets_b)
        everything = np.arange(len(self.img_ids))

        def m(e, s):
            return 0.0 if e is None else accumulated_map(e, s)

        diff = m(ea, everything) - m(eb, everything)
        boots = np.array([m(ea, s) - m(eb, s) for s in resamples(len(self.img_ids), n, seed)])
        lo, hi = float(np.percentile(boots, 2.5)), float(np.percentile(boots, 97.5))
        return dict(diff=diff, ci95=[lo, hi], p_a_better=float((boots > 0).mean()),
                    within_noise=bool(lo <= 0.0 <= hi), resamples=n)


def noise_sentence(name_a: str, name_b: str, cmp: Dict[str, object]) -> str:
    """One sentence saying whether ``a`` and ``b`` differ beyond the images' noise."""
    lo, hi = cmp['ci95']
    verdict = ('within noise: these images cannot tell them apart' if cmp['within_noise']
               else f'beyond noise: {name_a if cmp["diff"] > 0 else name_b} is better on these images')
    return (f'{name_a} - {name_b}: {cmp["diff"]:+.4f} mAP (paired bootstrap over the val images, 95% '
            f'interval {lo:+.4f} to {hi:+.4f}): {verdict}.')
