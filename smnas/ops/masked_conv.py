"""A pure-PyTorch masked convolution for devices mmcv has no kernel for.

mmcv's ``MaskedConv2d`` (used by mmdet's Guided-Anchor heads at inference time to
skip positions whose location score is below a threshold) calls
``masked_im2col_forward``, which mmcv implements for CUDA, MLU and NPU only. On the
CPU it fails with ``masked_im2col_forward_impl: implementation for device cpu not
found``. The fallback here computes the same thing with gather + matmul: the
convolution at masked positions (bias included) and zero elsewhere.
"""
from typing import Optional, Tuple, Union

import torch
import torch.nn.functional as F
from torch.nn.modules.utils import _pair


def masked_conv2d_torch(features: torch.Tensor,
                        mask: torch.Tensor,
                        weight: torch.Tensor,
                        bias: Optional[torch.Tensor] = None,
                        padding: Union[int, Tuple[int, int]] = 0,
                        stride: Union[int, Tuple[int, int]] = 1) -> torch.Tensor:
    """Convolve ``features`` only where ``mask`` is non-zero; zero elsewhere.

    Matches ``mmcv.ops.masked_conv2d``: dilation 1, groups 1, stride 1, output
    positions indexed by the mask. Unlike mmcv's kernel it also accepts a batch
    (mask ``(N, H, W)``, or ``(1, H, W)`` / ``(H, W)`` shared by the batch) and is
    differentiable, since it is built from ordinary autograd ops.

    Args:
        features: input of shape ``(N, C_in, H, W)``.
        mask: positions to compute, shape ``(H_out, W_out)``, ``(1, H_out, W_out)``
            or ``(N, H_out, W_out)``; any non-zero value selects a position.
        weight: ``(C_out, C_in, kh, kw)`` convolution weight.
        bias: optional ``(C_out,)`` bias, added at masked positions only.
        padding: zero padding of the input, as for ``nn.Conv2d``.
        stride: must be 1, as in mmcv.

    Returns:
        Tensor of shape ``(N, C_out, H_out, W_out)``.
    """
    if features.dim() != 4:
        raise ValueError(f'masked_conv2d expects a 4-D input (N, C, H, W), got {tuple(features.shape)}')
    if _pair(stride) != (1, 1):
        raise ValueError(f'masked_conv2d supports stride 1 only (as mmcv does), got {stride}')
    pad_h, pad_w = _pair(padding)
    n, c_in, h, w = features.shape
    c_out, c_w, kh, kw = weight.shape
    if c_w != c_in:
        raise ValueError(f'weight expects {c_w} input channels, features have {c_in}')
    out_h = h + 2 * pad_h - kh + 1
    out_w = w + 2 * pad_w - kw + 1
    if mask.dim() == 2:
        mask = mask.unsqueeze(0)
    if mask.dim() != 3 or tuple(mask.shape[1:]) != (out_h, out_w) or mask.shape[0] not in (1, n):
        raise ValueError(f'mask of shape {tuple(mask.shape)} does not fit an output of '
                         f'{n}x{out_h}x{out_w}')
    mask = (mask != 0).expand(n, out_h, out_w)

    output = features.new_zeros(n, c_out, out_h, out_w)
    b_idx, y_idx, x_idx = mask.nonzero(as_tuple=True)
    if b_idx.numel() == 0:
        return output
    padded = F.pad(features, (pad_w, pad_w, pad_h, pad_h)) if pad_h or pad_w else features
    # Gather one (C_in, P) slab per kernel offset: memory grows with the number of
    # masked positions P, not with H*W, which is what makes the masked conv cheap.
    cols = [padded[b_idx, :, y_idx + dy, x_idx + dx] for dy in range(kh) for dx in range(kw)]
    # (P, C_in, kh*kw) ordered as weight.view(C_out, C_in*kh*kw) expects.
    data_col = torch.stack(cols, dim=2).reshape(b_idx.numel(), c_in * kh * kw)
    values = data_col @ weight.reshape(c_out, -1).t()
    if bias is not None:
        values = values + bias
    return _scatter(output, b_idx, y_idx, x_idx, values)


def _scatter(output: torch.Tensor, b_idx: torch.Tensor, y_idx: torch.Tensor,
             x_idx: torch.Tensor, values: torch.Tensor) -> torch.Tensor:
    """Write ``values`` (P, C_out) to ``output[b, :, y, x]`` out of place (autograd-safe)."""
    n, c_out, h, w = output.shape
    flat = output.permute(0, 2, 3, 1).reshape(n * h * w, c_out)
    lin = (b_idx * h + y_idx) * w + x_idx
    flat = flat.index_put((lin, ), values)
    return flat.reshape(n, h, w, c_out).permute(0, 3, 1, 2).contiguous()
