"""Fallbacks for mmcv ops on devices mmcv has no kernel for.

They are installed from our package (``install_cpu_fallbacks``, run on
``smnas.register``), never by editing mmcv: each dispatch wraps mmcv's function and
sends inputs on devices without an mmcv kernel elsewhere, leaving the others on mmcv's
own kernels:

* the masked convolution (Guided-Anchor heads) to a pure-PyTorch implementation, on
  the CPU and on CUDA when mmcv was built without CUDA;
* NMS, RoIAlign, deformable convolution and the sigmoid focal loss to torchvision's
  CUDA kernels when mmcv was built without CUDA (:mod:`.torchvision_fallbacks`).
"""
import functools

from . import torchvision_fallbacks
from .masked_conv import masked_conv2d_torch
from .torchvision_fallbacks import mmcv_has_cuda_ops, use_torchvision

__all__ = ['masked_conv2d_torch', 'install_cpu_fallbacks', 'mmcv_has_cuda_ops', 'use_torchvision']

# Devices for which mmcv 2.1 ships masked_im2col/col2im kernels.
_MMCV_MASKED_CONV_DEVICES = ('cuda', 'mlu', 'npu')


def install_cpu_fallbacks() -> None:
    """Route mmcv's ``masked_conv2d`` to :func:`masked_conv2d_torch` where mmcv has no
    kernel, and NMS, RoIAlign, deformable convolution and the sigmoid focal loss to
    torchvision on CUDA when mmcv has no CUDA kernels.

    Idempotent. ``mmcv.ops.MaskedConv2d.forward`` looks ``masked_conv2d`` up in its
    module at call time, so replacing the module attribute covers every
    ``MaskedConv2d`` (mmdet's Guided-Anchor heads included), whenever it was built.
    """
    import mmcv.ops
    import mmcv.ops.masked_conv as mmcv_masked_conv

    torchvision_fallbacks.install()
    current = mmcv_masked_conv.masked_conv2d
    if getattr(current, '_smnas_fallback', False):
        return
    mmcv_impl = current

    @functools.wraps(mmcv_impl)
    def masked_conv2d(features, mask, weight, bias, padding=0, stride=1):
        if features.device.type in _MMCV_MASKED_CONV_DEVICES and not use_torchvision(features):
            return mmcv_impl(features, mask, weight, bias, padding, stride)
        return masked_conv2d_torch(features, mask, weight, bias, padding, stride)

    masked_conv2d._smnas_fallback = True
    mmcv_masked_conv.masked_conv2d = masked_conv2d
    mmcv.ops.masked_conv2d = masked_conv2d
