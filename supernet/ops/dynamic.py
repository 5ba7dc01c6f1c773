"""Config-free dynamic ops: the leading slice of a max-size weight, width set from outside.

Each op holds the weight of its largest configuration. The input width comes from
the input tensor; the output width is the op's ``active_out`` attribute (the one
name every searchable width uses), which only the mutator sets, once per subnet
(never ``forward()`` arguments, never globals).
With nothing set, each op is exactly its static counterpart.

Slices are copied to contiguous memory before use: convolving with a strided view
of a larger weight is slower, most of all in the backward pass, which then scatters
into the large weight (measured here for a 3x3 conv, 64 of 128 channels: 1.09x the
static conv in inference and 1.29x in a training step for the view, 0.97x for the
copied slice; ``benchmarks/bench_supernet_step.py`` measures it).
"""
import math
from typing import Optional

import torch
import torch.nn.functional as F
from torch import nn


def _slice(weight: torch.Tensor, out_c: int, in_c: Optional[int] = None) -> torch.Tensor:
    full_out = out_c == weight.size(0)
    full_in = in_c is None or in_c == weight.size(1)
    if full_out and full_in:
        return weight
    w = weight[:out_c] if in_c is None else weight[:out_c, :in_c]
    return w.contiguous()


def standardize_weight(weight: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
    """Weight Standardization (Qiao et al.) per output filter, as mmcv's ConvWS2d does."""
    flat = weight.view(weight.size(0), -1)
    mean = flat.mean(dim=1).view(-1, 1, 1, 1)
    std = flat.std(dim=1).view(-1, 1, 1, 1)
    return (weight - mean) / (std + eps)


class DynamicConv2d(nn.Conv2d):
    """A Conv2d over the leading ``in x out`` channels of its max-size weight.

    Args:
        max_in_channels: largest input width.
        max_out_channels: largest output width.
        kernel_size, stride, padding, dilation, bias: as for ``nn.Conv2d``.
        depthwise: one group per channel (then input width = output width).
        group_width: channels per group of a grouped conv (input width = output width;
            the group count follows the active width, each group keeping its channels,
            so the leading groups of the max-width weight are the active conv's).
        weight_std: apply Weight Standardization to the active slice.
        eps: Weight Standardization epsilon.

    Attributes:
        active_out: output width in use; None means the maximum.
    """

    def __init__(self, max_in_channels: int, max_out_channels: int, kernel_size, stride=1,
                 padding=0, dilation=1, bias: bool = False, depthwise: bool = False,
                 group_width: Optional[int] = None, weight_std: bool = False, eps: float = 1e-5):
        groups = max_in_channels if depthwise else 1
        if (depthwise or group_width) and max_in_channels != max_out_channels:
            raise ValueError('a depthwise or grouped conv has as many output as input channels')
        if group_width:
            if max_in_channels % group_width:
                raise ValueError(f'{max_in_channels} channels do not fill groups of {group_width}')
            groups = max_in_channels // group_width
        super().__init__(max_in_channels, max_out_channels, kernel_size, stride, padding, dilation,
                         groups, bias)
        self.depthwise = depthwise
        self.group_width = group_width
        self.weight_std = weight_std
        self.eps = eps
        self.active_out: Optional[int] = None

    def active_weight(self, in_channels: int) -> tuple:
        """(weight, bias) for ``in_channels`` inputs at the active output width."""
        out_c = self.active_out or self.out_channels
        if out_c > self.out_channels:
            raise ValueError(f'active width {out_c} exceeds the maximum {self.out_channels}')
        if self.depthwise:
            out_c = in_channels
            w = _slice(self.weight, out_c)
        elif self.group_width:
            if in_channels != out_c or in_channels % self.group_width:
                raise ValueError(f'a grouped conv of {self.group_width}-channel groups at width {out_c} '
                                 f'cannot take {in_channels} input channels')
            w = _slice(self.weight, out_c)
        else:
            if in_channels > self.in_channels:
                raise ValueError(f'input has {in_channels} channels, more than the maximum '
                                 f'{self.in_channels}')
            w = _slice(self.weight, out_c, in_channels)
        if self.weight_std:
            w = standardize_weight(w, self.eps)
        b = None if self.bias is None else self.bias[:out_c]
        return w, b

    def active_groups(self, in_channels: int) -> int:
        """Groups of the conv at ``in_channels`` inputs."""
        if self.depthwise:
            return in_channels
        return in_channels // self.group_width if self.group_width else 1

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        w, b = self.active_weight(x.size(1))
        groups = self.active_groups(x.size(1))
        return F.conv2d(x, w, b, self.stride, self.padding, self.dilation, groups)

def gn_groups(channels: int, channels_per_group: int = 8) -> int:
    """GroupNorm groups for a width: a fixed group size, so the leading channels keep
    their groups at every width (falls back to the largest size dividing ``channels``)."""
    size = math.gcd(channels, channels_per_group)
    return channels // size


class DynamicGroupNorm(nn.GroupNorm):
    """GroupNorm over the leading channels; groups follow the active width.

    Args:
        max_channels: largest width (affine parameters are sliced from it).
        channels_per_group: group size (see :func:`gn_groups`).
        eps: as for ``nn.GroupNorm``.

    The width is taken from the input, so the op needs no mutator.
    """

    def __init__(self, max_channels: int, channels_per_group: int = 8, eps: float = 1e-5):
        super().__init__(gn_groups(max_channels, channels_per_group), max_channels, eps=eps)
        self.channels_per_group = channels_per_group

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        c = x.size(1)
        if c > self.num_channels:
            raise ValueError(f'input has {c} channels, more than the maximum {self.num_channels}')
        # At full width pass the parameters themselves: slicing them, even fully, adds a
        # slice node whose backward scatters into the parameter (measured 1.2x slower).
        w, b = (self.weight, self.bias) if c == self.num_channels else (self.weight[:c], self.bias[:c])
        return F.group_norm(x, gn_groups(c, self.channels_per_group), w, b, self.eps)

class DynamicLinear(nn.Linear):
    """A Linear over the leading ``in x out`` features of its max-size weight.

    Attributes:
        active_out: output width in use; None means the maximum.
    """

    def __init__(self, max_in_features: int, max_out_features: int, bias: bool = True):
        super().__init__(max_in_features, max_out_features, bias)
        self.active_out: Optional[int] = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out_f = self.active_out or self.out_features
        in_f = x.size(-1)
        if in_f > self.in_features or out_f > self.out_features:
            raise ValueError(f'{in_f}->{out_f} exceeds the maximum {self.in_features}->{self.out_features}')
        w = _slice(self.weight, out_f, in_f)
        b = None if self.bias is None else self.bias[:out_f]
        return F.linear(x, w, b)
