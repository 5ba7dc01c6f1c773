"""Check an installation: versions, mmcv's compiled ops, and a tiny detector forward.

Run by ``install.sh`` as its last step; also ``python -m smnas.verify`` or ``smnas-verify``.
Exits non-zero, naming the failed check, when something is broken.
"""
import sys
import time
import traceback
from typing import Callable, List, Tuple


def _check_versions() -> str:
    from .utils import collect_env_versions

    v = collect_env_versions()
    return ', '.join(f'{k} {v[k]}' for k in ('python', 'torch', 'mmengine', 'mmcv', 'mmdet', 'numpy'))


def _check_mmcv_ops() -> str:
    import torch
    from mmcv.ops import DeformConv2d, RoIAlign, batched_nms, nms  # noqa: F401

    boxes = torch.tensor([[0, 0, 10, 10], [1, 1, 10, 10], [20, 20, 30, 30]], dtype=torch.float32)
    scores = torch.tensor([0.9, 0.8, 0.7])
    _, keep = nms(boxes, scores, iou_threshold=0.5)
    if sorted(keep.tolist()) != [0, 2]:
        raise RuntimeError(f'mmcv nms returned {keep.tolist()}, expected [0, 2]')
    feats = torch.arange(16, dtype=torch.float32).view(1, 1, 4, 4)
    out = RoIAlign((2, 2), spatial_scale=1.0, sampling_ratio=2)(feats, torch.tensor([[0., 0., 0., 4., 4.]]))
    if out.shape != (1, 1, 2, 2):
        raise RuntimeError(f'mmcv RoIAlign returned shape {tuple(out.shape)}')
    return 'nms, batched_nms, RoIAlign, DeformConv2d import and run on the CPU'


def _check_masked_conv() -> str:
    import torch
    from mmcv.ops import MaskedConv2d

    import smnas.register  # noqa: F401  registers our modules and installs the CPU fallback

    conv = MaskedConv2d(4, 6, 3, padding=1)
    x = torch.randn(1, 4, 8, 8)
    mask = torch.zeros(1, 8, 8, dtype=torch.bool)
    mask[0, 2:5, 3:7] = True
    out = conv(x, mask)
    ref = torch.nn.functional.conv2d(x, conv.weight, conv.bias, padding=1)
    if not torch.allclose(out[0, :, mask[0]], ref[0, :, mask[0]], atol=1e-5):
        raise RuntimeError('masked convolution fallback differs from conv2d at masked positions')
    return 'MaskedConv2d runs on the CPU (smnas fallback)'


def _check_detector() -> str:
    import torch

    from .testing import build_detector, demo_batch, model_cfg

    model = build_detector(model_cfg(num_classes=3))
    data = demo_batch(batch_size=1, size=(64, 96))
    model.eval()
    t0 = time.perf_counter()
    with torch.no_grad():
        results = model.test_step(data)
    if len(results) != 1 or not hasattr(results[0], 'pred_instances'):
        raise RuntimeError('detector test_step returned no predictions')
    return f'Faster R-CNN R-18 FPN GN+WS forward on a 64x96 image in {time.perf_counter() - t0:.2f}s'


CHECKS: List[Tuple[str, Callable[[], str]]] = [
    ('versions', _check_versions),
    ('mmcv compiled ops', _check_mmcv_ops),
    ('masked conv CPU fallback', _check_masked_conv),
    ('tiny detector forward', _check_detector),
]


def main() -> int:
    """Run every check; returns 0 when all pass, 1 otherwise."""
    failed = 0
    for name, fn in CHECKS:
        try:
            print(f'  ok    {name}: {fn()}')
        except Exception as e:  # report every failure, not just the first
            failed += 1
            print(f'  FAIL  {name}: {type(e).__name__}: {e}')
            traceback.print_exc(limit=3)
    print('install check passed' if not failed else f'install check FAILED ({failed} checks)')
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
