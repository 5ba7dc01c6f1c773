"""torchvision's ops in place of mmcv's where mmcv has no kernel for the device, or
a slower one.

pip's torch brings the CUDA runtime but not the compiler, so on a GPU machine without
nvcc mmcv builds its ops for the CPU only: NMS, RoIAlign, deformable convolution and
the sigmoid focal loss then fail on CUDA tensors. torchvision ships CUDA kernels for
the same operations in its wheels. Each dispatcher here sends a tensor to torchvision
when mmcv cannot run it (a CUDA tensor and an mmcv built without CUDA), and to mmcv
otherwise, so a machine whose mmcv has CUDA kernels keeps them.

On the CPU, torchvision's NMS and RoIAlign give the same results as mmcv's (tested,
forward and backward) several times faster (``benchmarks/bench_cpu_ops.py``: RoIAlign
3-8x, NMS 3.5x on 2 cores), so CPU tensors go to torchvision for these two ops as well;
``SMNAS_MMCV_CPU_OPS=1`` keeps mmcv's CPU kernels.

The dispatchers wrap mmcv's functions where mmcv and mmdet look them up at call time
(a module attribute, or ``NMSop.forward``), so every model built before or after
:func:`install` uses them; nothing in mmcv is edited on disk.
"""
import contextlib
import functools
import os
from typing import Iterator, Optional, Set

import torch
from torch import Tensor

# Device types sent to torchvision whatever mmcv has (tests force 'cpu' to check the
# wiring on machines without a GPU).
_FORCED: Set[str] = set()
# (device type, op) pairs where torchvision's kernel is the faster one (measured).
_PREFERRED = frozenset({('cpu', 'nms'), ('cpu', 'roi_align')})
_PREFER = [os.environ.get('SMNAS_MMCV_CPU_OPS', '') in ('', '0')]


@functools.cache
def mmcv_has_cuda_ops() -> bool:
    """Whether mmcv's compiled ops include CUDA kernels."""
    from mmcv.ops import get_compiling_cuda_version

    return get_compiling_cuda_version() != 'not available'


def use_torchvision(t: Tensor, op: Optional[str] = None) -> bool:
    """Whether ``t`` goes to torchvision's op instead of mmcv's.

    Args:
        t: the op's input.
        op: 'nms', 'roi_align'...: the op, for the routes taken for speed.
    """
    kind = t.device.type
    if kind in _FORCED or (kind == 'cuda' and not mmcv_has_cuda_ops()):
        return True
    return _PREFER[0] and (kind, op) in _PREFERRED


@contextlib.contextmanager
def mmcv_kernels() -> Iterator[None]:
    """Inside the block, mmcv's kernels run wherever mmcv has them (the speed routes
    are off): the reference of the equality tests and of the benchmark."""
    before = _PREFER[0]
    _PREFER[0] = False
    try:
        yield
    finally:
        _PREFER[0] = before


@contextlib.contextmanager
def forced(device_type: str = 'cpu') -> Iterator[None]:
    """Inside the block, tensors on ``device_type`` go to torchvision (for tests)."""
    added = device_type not in _FORCED
    _FORCED.add(device_type)
    try:
        yield
    finally:
        if added:
            _FORCED.discard(device_type)


def nms_torchvision(boxes: Tensor, scores: Tensor, iou_threshold: float, offset: int = 0) -> Tensor:
    """mmcv's NMS kernel (indices of the kept boxes, by decreasing score) with
    torchvision's; ``offset`` 1 counts a box's width as x2 - x1 + 1, as mmcv does."""
    from torchvision.ops import nms

    if offset:
        boxes = torch.cat([boxes[:, :2], boxes[:, 2:] + offset], dim=1)
    return nms(boxes.float(), scores.float(), float(iou_threshold))


def _nms_forward(original):
    @functools.wraps(original)
    def forward(ctx, bboxes: Tensor, scores: Tensor, iou_threshold: float, offset: int,
                score_threshold: float, max_num: int) -> Tensor:
        if not use_torchvision(bboxes, 'nms'):
            return original(ctx, bboxes, scores, iou_threshold, offset, score_threshold, max_num)
        # mmcv's NMSop.forward, with torchvision's kernel
        valid = None
        if score_threshold > 0:
            mask = scores > score_threshold
            bboxes, scores = bboxes[mask], scores[mask]
            valid = torch.nonzero(mask, as_tuple=False).squeeze(dim=1)
        inds = nms_torchvision(bboxes, scores, iou_threshold, offset)
        if max_num > 0:
            inds = inds[:max_num]
        return valid[inds] if valid is not None else inds
    return forward


def _roi_align(original):
    @functools.wraps(original)
    def roi_align(input: Tensor, rois: Tensor, output_size, spatial_scale: float = 1.0,
                  sampling_ratio: int = 0, pool_mode: str = 'avg', aligned: bool = True) -> Tensor:
        if not use_torchvision(input, 'roi_align'):
            return original(input, rois, output_size, spatial_scale, sampling_ratio, pool_mode, aligned)
        if pool_mode != 'avg':
            raise NotImplementedError(f"RoIAlign with pool_mode={pool_mode!r} has no torchvision kernel "
                                      f"(only 'avg'), and mmcv has none for {input.device}")
        from torchvision.ops import roi_align as tv_roi_align

        # torchvision's sampling_ratio <= 0 is adaptive, as mmcv's 0
        return tv_roi_align(input, rois, output_size, spatial_scale, sampling_ratio, aligned)
    return roi_align


def _deform_conv2d(original):
    @functools.wraps(original)
    def deform_conv2d(input: Tensor, offset: Tensor, weight: Tensor, stride=1, padding=0, dilation=1,
                      groups: int = 1, deform_groups: int = 1, bias=False, im2col_step: int = 32) -> Tensor:
        if not use_torchvision(input):
            return original(input, offset, weight, stride, padding, dilation, groups, deform_groups, bias,
                            im2col_step)
        from torch.nn.modules.utils import _pair
        from torchvision.ops import deform_conv2d as tv_deform_conv2d

        if bias is not False and bias is not None:
            raise NotImplementedError('mmcv deform_conv2d has no bias (bias=False)')
        # torchvision reads the groups from the weight's shape and the offset groups from
        # the offset's; both use mmcv's (y, x) offset layout
        return tv_deform_conv2d(input, offset, weight, None, _pair(stride), _pair(padding), _pair(dilation))
    return deform_conv2d


def sigmoid_focal_loss_torchvision(input: Tensor, target: Tensor, gamma: float = 2.0, alpha: float = 0.25,
                                   weight=None, reduction: str = 'mean') -> Tensor:
    """mmcv's ``sigmoid_focal_loss`` (targets: class indices, ``num_classes`` meaning
    background; a per-class ``weight``; 'mean' divides by the number of rows) computed
    with torchvision's."""
    from torchvision.ops import sigmoid_focal_loss

    num_classes = input.size(1)
    onehot = torch.nn.functional.one_hot(target.long(), num_classes + 1)[:, :num_classes].to(input.dtype)
    loss = sigmoid_focal_loss(input, onehot, alpha=alpha, gamma=gamma, reduction='none')
    if weight is not None:
        loss = loss * weight.view(1, -1)
    if reduction == 'mean':
        return loss.sum() / input.size(0)
    if reduction == 'sum':
        return loss.sum()
    return loss


def _sigmoid_focal_loss(original):
    @functools.wraps(original)
    def sigmoid_focal_loss(input: Tensor, target: Tensor, gamma: float = 2.0, alpha: float = 0.25,
                           weight=None, reduction: str = 'mean') -> Tensor:
        if not use_torchvision(input):
            return original(input, target, gamma, alpha, weight, reduction)
        return sigmoid_focal_loss_torchvision(input, target, gamma, alpha, weight, reduction)
    return sigmoid_focal_loss


def _wrap(owner, name: str, make) -> None:
    current = getattr(owner, name)
    if getattr(current, '_smnas_fallback', False):
        return
    wrapped = make(current)
    wrapped._smnas_fallback = True
    setattr(owner, name, wrapped)


def install() -> None:
    """Install the dispatchers (idempotent)."""
    from importlib import import_module

    # import_module: ``mmcv.ops.nms`` and ``mmcv.ops.roi_align`` are also the names of
    # functions in ``mmcv.ops``, which ``import mmcv.ops.nms as m`` would return
    mmcv_ops = import_module('mmcv.ops')
    mmcv_nms = import_module('mmcv.ops.nms')
    mmcv_roi_align = import_module('mmcv.ops.roi_align')
    mmcv_deform_conv = import_module('mmcv.ops.deform_conv')
    mmcv_focal_loss = import_module('mmcv.ops.focal_loss')
    mmdet_focal_loss = import_module('mmdet.models.losses.focal_loss')

    forward = mmcv_nms.NMSop.__dict__['forward'].__func__
    if not getattr(forward, '_smnas_fallback', False):
        wrapped = _nms_forward(forward)
        wrapped._smnas_fallback = True
        mmcv_nms.NMSop.forward = staticmethod(wrapped)
    _wrap(mmcv_roi_align, 'roi_align', _roi_align)  # RoIAlign.forward's lookup
    _wrap(mmcv_deform_conv, 'deform_conv2d', _deform_conv2d)  # DeformConv2d.forward's lookup
    _wrap(mmcv_focal_loss, 'sigmoid_focal_loss', _sigmoid_focal_loss)
    _wrap(mmdet_focal_loss, '_sigmoid_focal_loss', _sigmoid_focal_loss)  # mmdet's FocalLoss on CUDA
    for name, module in (('roi_align', mmcv_roi_align), ('deform_conv2d', mmcv_deform_conv),
                         ('sigmoid_focal_loss', mmcv_focal_loss)):
        setattr(mmcv_ops, name, getattr(module, name))  # ``from mmcv.ops import ...`` from now on
