"""Running an exported detector with onnxruntime alone (no torch, no mmcv): the
pre-processing the graph expects and the rescaling of its boxes to the image.

    from smnas.deploy.runtime import OnnxDetector
    det = OnnxDetector('work_dirs/run/finalists/E0/onnx')
    boxes, scores, labels = det(cv2.imread('image.jpg'))   # boxes in image pixels

The graph takes one image of a fixed size (``deploy.json``'s ``input_hw``). An image is
resized as mmdet's test ``Resize(scale, keep_ratio=True)`` does (bilinear, the long and
short edges bounded by the scale's) and padded at the bottom and right with the mean
pixel, which is zero after the graph's normalisation, as mmdet pads. A portrait image
whose mmdet size would not fit the fixed input is resized to fit it instead.
"""
import json
from pathlib import Path
from typing import Optional, Tuple

import numpy as np

MANIFEST = 'deploy.json'


def resize_scale(h: int, w: int, scale_wh, input_hw) -> float:
    """The resize factor of an ``h`` x ``w`` image: mmcv's ``rescale_size`` rule for
    ``scale_wh``, or the largest that fits ``input_hw`` when that rule overflows it."""
    long_edge, short_edge = max(scale_wh), min(scale_wh)
    s = min(long_edge / max(h, w), short_edge / min(h, w))
    if int(w * s + 0.5) > input_hw[1] or int(h * s + 0.5) > input_hw[0]:
        s = min(input_hw[1] / w, input_hw[0] / h)
    return s


def preprocess(image: np.ndarray, manifest: dict) -> Tuple[np.ndarray, np.ndarray, Tuple[float, float]]:
    """One ``H x W x 3`` uint8 image (the colour order of ``manifest['channel_order']``)
    as the graph's inputs.

    Returns:
        ``(image (1, 3, H, W) float32, img_hw (2,) int64, (w_scale, h_scale))``.
    """
    import cv2

    if image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f'expected an H x W x 3 image, got shape {image.shape}')
    H, W = manifest['input_hw']
    h, w = image.shape[:2]
    s = resize_scale(h, w, manifest['resize_scale_wh'], (H, W))
    nw, nh = int(w * s + 0.5), int(h * s + 0.5)
    resized = cv2.resize(image, (nw, nh), interpolation=cv2.INTER_LINEAR)
    out = np.empty((H, W, 3), np.float32)
    out[...] = np.asarray(manifest['pad_value'], np.float32)
    out[:nh, :nw] = resized
    return (np.ascontiguousarray(out.transpose(2, 0, 1)[None]), np.array([nh, nw], np.int64),
            (nw / w, nh / h))


class OnnxDetector:
    """An exported detector (``tools/export_onnx.py``) under onnxruntime.

    Args:
        path: the export folder (``model.onnx`` and ``deploy.json``).
        threads: onnxruntime's intra-op threads (None: its default).
        providers: onnxruntime execution providers (default: CPU).
    """

    def __init__(self, path, threads: Optional[int] = None, providers=None):
        import onnxruntime as ort

        path = Path(path)
        self.manifest = json.loads((path / MANIFEST).read_text())
        opts = ort.SessionOptions()
        if threads:
            opts.intra_op_num_threads = int(threads)
            opts.inter_op_num_threads = 1
        self.session = ort.InferenceSession(str(path / self.manifest['model']), opts,
                                            providers=providers or ['CPUExecutionProvider'])
        self.classes = self.manifest.get('classes')

    def run(self, image: np.ndarray, img_hw: np.ndarray) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The graph on already pre-processed inputs: boxes in input pixels."""
        boxes, scores, labels = self.session.run(None, {'image': image, 'img_hw': img_hw})
        return boxes, scores, labels

    def __call__(self, image: np.ndarray) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Detect on one image.

        Args:
            image: ``H x W x 3`` uint8 (BGR, as ``cv2.imread`` loads, unless the manifest
                says otherwise).

        Returns:
            ``(boxes (n, 4) x1 y1 x2 y2 in image pixels, scores (n,), labels (n,))``, by
            decreasing score.
        """
        x, hw, (sw, sh) = preprocess(image, self.manifest)
        boxes, scores, labels = self.run(x, hw)
        boxes = boxes / np.array([sw, sh, sw, sh], np.float32)
        return boxes, scores, labels
