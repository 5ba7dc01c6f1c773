"""Export a trained detector to ONNX with its post-processing in the graph, check it
against PyTorch on real images, and time both side by side.

An export folder holds ``model.onnx`` (inputs ``image`` and ``img_hw``; outputs
``boxes``, ``scores``, ``labels``: see :class:`~smnas.deploy.graph.DetectorGraph`) and
``deploy.json`` (input size, resize rule, pad value, colour order, classes, the
post-processing thresholds, where it came from, versions). :mod:`smnas.deploy.runtime`
runs it with onnxruntime alone.
"""
import statistics
import time
import warnings
from pathlib import Path
from typing import Dict, List, Optional, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from ..data.datasets import ann_file_path
from ..utils import atomic_write_json, collect_env_versions
from .graph import DetectorGraph, padded_input_hw
from .runtime import MANIFEST, OnnxDetector, preprocess

#: the lowest ONNX opset a graph is exported at (a Guided-Anchor RPN's DeformConv needs 19:
#: ``DetectorGraph.opset``)
OPSET = 17


def build_trained(cfg, checkpoint: Optional[str]):
    """The detector of an mmdet config (eval mode, on the CPU), with ``checkpoint``'s
    weights (None: initialised, for tests)."""
    from mmengine.registry import DefaultScope
    from mmengine.runner import load_checkpoint

    from ..testing import build_detector

    with DefaultScope.overwrite_default_scope('mmdet'):
        model = build_detector(cfg.model, seed=0)
    if checkpoint:
        load_checkpoint(model, checkpoint, map_location='cpu', logger='silent')
    return model.eval()


def reference_pipeline(cfg) -> list:
    """The test loader's transforms without annotation loading (mmdet's ``Resize`` and
    packing, for the PyTorch reference)."""
    from ..structural.builder import loader_pipeline

    return [t for t in loader_pipeline(cfg, 'test_dataloader') if t.get('type') != 'LoadAnnotations']


def resize_scale_wh(cfg) -> List[int]:
    """The (w, h) ``scale`` of the test pipeline's ``Resize`` (which must keep the ratio)."""
    for t in reference_pipeline(cfg):
        if t.get('type') == 'Resize':
            if not t.get('keep_ratio', False):
                raise ValueError('the test Resize does not keep the aspect ratio; the ONNX '
                                 'pre-processing implements keep_ratio=True only')
            return [int(v) for v in t['scale']]
    raise ValueError('the test pipeline has no Resize')


def _classes(cfg) -> Optional[List[str]]:
    meta = cfg.test_dataloader.dataset.get('metainfo') or {}
    if meta.get('classes'):
        return list(meta['classes'])
    from ..data.datasets import read_coco_classes

    try:
        return list(read_coco_classes(ann_file_path(cfg, 'test_dataloader'))) or None
    except (OSError, ValueError):
        return None


def export_onnx(cfg, checkpoint: Optional[str], out_dir, source: Optional[Dict] = None) -> dict:
    """Export ``cfg``'s detector with ``checkpoint``'s weights to ``out_dir``.

    Weight Standardization is folded into the weights (a deployed model computes the
    standardised weights once). The graph is traced at the test ``Resize`` scale padded
    to the data preprocessor's divisor, batch 1.

    Args:
        cfg: the detector's mmengine config (a retrained finalist's, or any config of the
            structural space's detectors: RetinaNet, Faster / Cascade R-CNN, FPN or C4).
        checkpoint: its trained weights.
        out_dir: the export folder.
        source: extra fields for the manifest (e.g. the finalist's name).

    Returns:
        The manifest written to ``deploy.json``.

    Raises:
        smnas.deploy.graph.UnsupportedDetector: a part the graph does not cover (GA-RPN).
    """
    import onnx

    from ..evaluation.measure import fold_weight_standardization

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    model = fold_weight_standardization(build_trained(cfg, checkpoint))
    scale = resize_scale_wh(cfg)
    divisor = int(cfg.model.data_preprocessor.get('pad_size_divisor', 1) or 1)
    hw = padded_input_hw(scale, divisor)
    graph = DetectorGraph(model, hw).eval()
    opset = max(OPSET, graph.opset)
    pre = model.data_preprocessor
    # padding with the mean pixel (in the loaded colour order) is zero after normalisation
    mean = pre.mean.reshape(-1).tolist()
    pad = mean[::-1] if graph.flip else mean
    g = torch.Generator().manual_seed(0)
    example = (torch.rand(1, 3, *hw, generator=g) * 255, torch.tensor(hw, dtype=torch.int64))
    tmp = out / 'model.onnx.part'
    # The tracer warns wherever a shape becomes a constant; at a fixed input size the
    # anchor counts it freezes are constants, and everything data-dependent is a tensor.
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter('ignore', torch.jit.TracerWarning)
        warnings.simplefilter('ignore', DeprecationWarning)
        torch.onnx.export(graph, example, str(tmp), input_names=['image', 'img_hw'],
                          output_names=['boxes', 'scores', 'labels'], opset_version=opset,
                          dynamo=False, dynamic_axes={k: {0: 'n'} for k in ('boxes', 'scores', 'labels')})
    onnx.checker.check_model(str(tmp))
    tmp.replace(out / 'model.onnx')
    two = graph.two_stage
    test_cfg = model.test_cfg
    manifest = dict(
        model='model.onnx', opset=opset, input_hw=list(hw), resize_scale_wh=scale, keep_ratio=True,
        pad_size_divisor=divisor, pad_value=pad, channel_order='bgr', mean=mean,
        std=pre.std.reshape(-1).tolist(), bgr_to_rgb_in_graph=graph.flip,
        inputs=dict(image='float32 (1, 3, H, W) pixels 0-255, resized and padded',
                    img_hw='int64 (2,) height and width of the image inside the padding'),
        outputs=dict(boxes='float32 (n, 4) x1 y1 x2 y2 in input pixels (divide by the resize '
                           'factors for image pixels)', scores='float32 (n,)', labels='int64 (n,)'),
        detector=type(model).__name__, classes=_classes(cfg),
        postprocess=dict(test_cfg.rcnn if two else test_cfg),
        source=dict(checkpoint=str(checkpoint) if checkpoint else None, **(source or {})),
        versions=collect_env_versions())
    atomic_write_json(out / MANIFEST, manifest, indent=1)
    return manifest


def _reference(model, cfg, image_path: str, hw) -> Optional[tuple]:
    """mmdet's own detections on one image (its test pipeline, padded to ``hw``); None
    when mmdet's resize makes the image larger than the fixed input (a portrait image: the
    runtime fits it instead, so the two would see different pixels)."""
    from mmcv.transforms import Compose
    from mmengine.dataset import pseudo_collate
    from mmengine.registry import DefaultScope

    with DefaultScope.overwrite_default_scope('mmdet'):
        data = Compose(reference_pipeline(cfg))(dict(img_path=image_path, img_id=0))
        batch = model.data_preprocessor(pseudo_collate([data]), False)
    x = batch['inputs']
    if x.shape[-2] > hw[0] or x.shape[-1] > hw[1]:
        return None
    x = F.pad(x, (0, hw[1] - x.shape[-1], 0, hw[0] - x.shape[-2]))
    for s in batch['data_samples']:
        s.set_metainfo(dict(batch_input_shape=tuple(hw), pad_shape=tuple(hw)))
    with torch.no_grad():
        res = model.predict(x, batch['data_samples'], rescale=True)[0].pred_instances
    return res.bboxes.numpy(), res.scores.numpy(), res.labels.numpy()


def _iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    lt = np.maximum(a[:, None, :2], b[None, :, :2])
    rb = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.clip(rb - lt, 0, None).prod(-1)
    area = lambda x: (x[:, 2] - x[:, 0]) * (x[:, 3] - x[:, 1])  # noqa: E731
    return inter / np.maximum(area(a)[:, None] + area(b)[None] - inter, 1e-9)


def match_detections(ref: tuple, got: tuple, iou: float = 0.99) -> dict:
    """Pair each reference detection with an unused one of the same label at IoU >=
    ``iou`` and the nearest score.

    Returns:
        ``dict(reference, exported, matched, max_box_diff, max_score_diff)``.
    """
    rb, rs, rl = ref
    gb, gs, gl = got
    used = np.zeros(len(gb), bool)
    matched, box_diff, score_diff = 0, 0.0, 0.0
    ious = _iou(rb, gb) if len(rb) and len(gb) else np.zeros((len(rb), len(gb)))
    for i in range(len(rb)):
        ok = (~used) & (gl == rl[i]) & (ious[i] >= iou)
        if not ok.any():
            continue
        j = int(np.argmin(np.where(ok, np.abs(gs - rs[i]), np.inf)))
        used[j] = True
        matched += 1
        box_diff = max(box_diff, float(np.abs(gb[j] - rb[i]).max()))
        score_diff = max(score_diff, float(abs(gs[j] - rs[i])))
    return dict(reference=len(rb), exported=len(gb), matched=matched, max_box_diff=box_diff,
                max_score_diff=score_diff)


def check_against_pytorch(cfg, checkpoint: Optional[str], export_dir, images: Sequence[str]) -> dict:
    """The exported model (:class:`OnnxDetector`, from the image files) against mmdet's
    ``predict`` (its test pipeline) on ``images``.

    Returns:
        Totals over the images: ``images`` compared, ``skipped`` (mmdet's resize overflows
        the fixed input: portrait images), ``reference`` and ``exported`` detection
        counts, ``matched`` (same label, IoU >= 0.99), ``match_rate``, and the largest
        box (pixels) and score differences among matched pairs.
    """
    import cv2

    model = build_trained(cfg, checkpoint)
    det = OnnxDetector(export_dir)
    hw = det.manifest['input_hw']
    tot = dict(images=0, skipped=0, reference=0, exported=0, matched=0, max_box_diff=0.0, max_score_diff=0.0)
    for path in images:
        img = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if img is None:
            raise ValueError(f'{path}: not a readable image')
        ref = _reference(model, cfg, str(path), hw)
        if ref is None:
            tot['skipped'] += 1
            continue
        m = match_detections(ref, det(img))
        tot['images'] += 1
        for k in ('reference', 'exported', 'matched'):
            tot[k] += m[k]
        for k in ('max_box_diff', 'max_score_diff'):
            tot[k] = max(tot[k], m[k])
    denom = max(tot['reference'], tot['exported'])
    tot['match_rate'] = tot['matched'] / denom if denom else 1.0
    return tot


def time_side_by_side(cfg, checkpoint: Optional[str], export_dir, image_path: str, repeats: int = 10,
                      threads: Optional[int] = None) -> dict:
    """Batch-1 latency of the same graph in PyTorch and in onnxruntime on one image,
    repeats interleaved (so drift hits both alike), same thread count.

    Returns:
        ``dict(torch_ms, onnx_ms, threads, repeats)`` (medians).
    """
    import cv2

    from ..evaluation.measure import fold_weight_standardization

    threads = threads or torch.get_num_threads()
    det = OnnxDetector(export_dir, threads=threads)
    x, hw, _ = preprocess(cv2.imread(str(image_path), cv2.IMREAD_COLOR), det.manifest)
    graph = DetectorGraph(fold_weight_standardization(build_trained(cfg, checkpoint)),
                          det.manifest['input_hw']).eval()
    tx, thw = torch.from_numpy(x), torch.from_numpy(hw)
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        with torch.no_grad():
            for _ in range(3):  # warm-up: allocator, oneDNN primitives, onnxruntime's arenas
                graph(tx, thw)
                det.run(x, hw)
            t_torch, t_onnx = [], []
            for _ in range(repeats):
                t0 = time.perf_counter()
                graph(tx, thw)
                t_torch.append((time.perf_counter() - t0) * 1000)
                t0 = time.perf_counter()
                det.run(x, hw)
                t_onnx.append((time.perf_counter() - t0) * 1000)
    finally:
        torch.set_num_threads(before)
    return dict(torch_ms=statistics.median(t_torch), onnx_ms=statistics.median(t_onnx),
                threads=threads, repeats=repeats)


def val_images(cfg, n: int) -> List[str]:
    """The first ``n`` image files of the test loader's annotation file."""
    import json

    ds = cfg.test_dataloader.dataset
    ann = json.loads(Path(ann_file_path(cfg, 'test_dataloader')).read_text())
    prefix = (ds.get('data_prefix') or {}).get('img', '')
    return [str(Path(ds.get('data_root', '') or '') / prefix / im['file_name']) for im in ann['images'][:n]]


def deploy(cfg, checkpoint: Optional[str], out_dir, check_images: int = 8, repeats: int = 10,
           threads: Optional[int] = None, source: Optional[Dict] = None) -> dict:
    """Export, check against PyTorch on the first ``check_images`` test images, and time
    both; the check and the timing are added to ``deploy.json``.

    Args:
        cfg: the detector's config.
        checkpoint: its weights.
        out_dir: the export folder.
        check_images: test images for the check (0: no check, no timing).
        repeats: timed runs of each.
        threads: threads of both runtimes (default: torch's).
        source: extra manifest fields.

    Returns:
        The manifest, with ``check`` (:func:`check_against_pytorch`) and ``latency``
        (:func:`time_side_by_side`) when ``check_images`` > 0.
    """
    manifest = export_onnx(cfg, checkpoint, out_dir, source)
    if check_images > 0:
        images = val_images(cfg, check_images)
        manifest['check'] = check_against_pytorch(cfg, checkpoint, out_dir, images)
        manifest['latency'] = time_side_by_side(cfg, checkpoint, out_dir, images[0], repeats, threads)
        atomic_write_json(Path(out_dir) / MANIFEST, manifest, indent=1)
    return manifest
