"""CPU fallbacks for mmcv ops that only have accelerator kernels.

They are installed from our package (``install_cpu_fallbacks``, run on
``smnas.register``), never by editing mmcv: the dispatch wraps mmcv's function and
sends inputs on devices without an mmcv kernel to a pure-PyTorch implementation,
leaving CUDA/MLU/NPU inputs on mmcv's own kernels.
"""
import functools

from .masked_conv import masked_conv2d_torch

__all__ = ['masked_conv2d_torch', 'install_cpu_fallbacks']

# Devices for which mmcv 2.1 ships masked_im2col/col2im kernels.
_MMCV_MASKED_CONV_DEVICES = ('cuda', 'mlu', 'npu')


def install_cpu_fallbacks() -> None:
    """Route mmcv's ``masked_conv2d`` to :func:`masked_conv2d_torch` off-accelerator.

    Idempotent. ``mmcv.ops.MaskedConv2d.forward`` looks ``masked_conv2d`` up in its
    module at call time, so replacing the module attribute covers every
    ``MaskedConv2d`` (mmdet's Guided-Anchor heads included), whenever it was built.
    """
    import mmcv.ops
    import mmcv.ops.masked_conv as mmcv_masked_conv

    current = mmcv_masked_conv.masked_conv2d
    if getattr(current, '_smnas_fallback', False):
        return
    mmcv_impl = current

    @functools.wraps(mmcv_impl)
    def masked_conv2d(features, mask, weight, bias, padding=0, stride=1):
        if features.device.type in _MMCV_MASKED_CONV_DEVICES:
            return mmcv_impl(features, mask, weight, bias, padding, stride)
        return masked_conv2d_torch(features, mask, weight, bias, padding, stride)

    masked_conv2d._smnas_fallback = True
    mmcv_masked_conv.masked_conv2d = masked_conv2d
    mmcv.ops.masked_conv2d = masked_conv2d
