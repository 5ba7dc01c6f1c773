"""Dynamic versions of the two mmcv ops of a Guided-Anchor head: the deformable conv of
its feature adaption and its masked 1x1 convs.

Like :mod:`supernet.ops.dynamic`, each holds its largest weight; the input width comes
from the input tensor and the output width is ``active_out`` (None: the maximum).
Both call mmcv's functions through their modules at call time (as mmcv's own layers
do), so the device fallbacks installed on them (``smnas.ops``) apply here too.
"""
from typing import Optional

import torch
import torch.nn.functional as F
from mmcv.ops import DeformConv2d, MaskedConv2d

from .dynamic import _slice


class DynamicDeformConv2d(DeformConv2d):
    """mmcv's ``DeformConv2d`` (DCN v1, no bias) over the leading ``in x out`` channels
    of its max-size weight.

    Args:
        as ``mmcv.ops.DeformConv2d`` (at the largest widths; groups must be 1).

    Attributes:
        active_out: output width in use; None means the maximum.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.groups != 1:
            raise ValueError('a dynamic deformable conv has one group')
        self.active_out: Optional[int] = None

    def forward(self, x: torch.Tensor, offset: torch.Tensor) -> torch.Tensor:
        from mmcv.ops import deform_conv as mmcv_deform_conv

        out_c, in_c = self.active_out or self.out_channels, x.size(1)
        if out_c > self.out_channels or in_c > self.in_channels:
            raise ValueError(f'{in_c}->{out_c} channels exceed the maximum {self.in_channels}->'
                             f'{self.out_channels}')
        if in_c % self.deform_groups:
            raise ValueError(f'{in_c} input channels do not split into {self.deform_groups} '
                             f'deformable groups')
        # mmcv's kernel needs an input at least as large as the kernel: pad, then crop back
        kh, kw = self.kernel_size
        pad_h, pad_w = max(kh - x.size(2), 0), max(kw - x.size(3), 0)
        if pad_h or pad_w:
            x = F.pad(x, (0, pad_w, 0, pad_h)).contiguous()
            offset = F.pad(offset, (0, pad_w, 0, pad_h)).contiguous()
        out = mmcv_deform_conv.deform_conv2d(x, offset, _slice(self.weight, out_c, in_c), self.stride,
                                             self.padding, self.dilation, 1, self.deform_groups, False,
                                             self.im2col_step)
        if pad_h or pad_w:
            out = out[:, :, :out.size(2) - pad_h, :out.size(3) - pad_w].contiguous()
        return out


class DynamicMaskedConv2d(MaskedConv2d):
    """mmcv's ``MaskedConv2d`` (a conv computed only where a mask is set, at inference)
    over the leading input channels of its weight: its input width follows the input
    tensor, its output width is fixed (the head's predictions).

    Args:
        as ``mmcv.ops.MaskedConv2d`` (at the largest input width).
    """

    def forward(self, x: torch.Tensor, mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        from mmcv.ops import masked_conv as mmcv_masked_conv

        in_c = x.size(1)
        if in_c > self.in_channels:
            raise ValueError(f'input has {in_c} channels, more than the maximum {self.in_channels}')
        w = _slice(self.weight, self.out_channels, in_c)
        if mask is None:
            return F.conv2d(x, w, self.bias, self.stride, self.padding, self.dilation)
        return mmcv_masked_conv.masked_conv2d(x, mask, w, self.bias, self.padding)
