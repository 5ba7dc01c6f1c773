"""The CPU masked convolution equals the dense convolution where the mask is set."""
import pytest
import torch
import torch.nn.functional as F
from mmcv.ops import MaskedConv2d

import smnas.register  # noqa: F401  installs the fallback
from smnas.ops import masked_conv2d_torch


@pytest.mark.parametrize('k, pad', [(1, 0), (3, 1), (3, 0), (5, 2)])
@pytest.mark.parametrize('batch', [1, 2])
def test_matches_dense_conv_at_masked_positions(k, pad, batch):
    g = torch.Generator().manual_seed(k * 10 + pad + batch)
    x = torch.randn(batch, 5, 9, 11, generator=g)
    w = torch.randn(7, 5, k, k, generator=g)
    b = torch.randn(7, generator=g)
    ref = F.conv2d(x, w, b, padding=pad)
    mask = torch.rand(batch, *ref.shape[2:], generator=g) > 0.6
    out = masked_conv2d_torch(x, mask, w, b, padding=pad)
    assert out.shape == ref.shape
    m = mask[:, None].expand_as(ref)
    torch.testing.assert_close(out[m], ref[m], rtol=1e-5, atol=1e-5)
    assert torch.count_nonzero(out[~m]) == 0


def test_shared_mask_empty_mask_and_bad_inputs():
    x = torch.randn(2, 3, 6, 6)
    w = torch.randn(4, 3, 3, 3)
    assert torch.count_nonzero(masked_conv2d_torch(x, torch.zeros(6, 6), w, None, 1)) == 0
    mask = torch.zeros(1, 6, 6, dtype=torch.bool)
    mask[0, 1, 2] = True
    out = masked_conv2d_torch(x, mask, w, None, 1)
    ref = F.conv2d(x, w, None, padding=1)
    torch.testing.assert_close(out[:, :, 1, 2], ref[:, :, 1, 2])
    with pytest.raises(ValueError, match='mask of shape'):
        masked_conv2d_torch(x, torch.ones(3, 6, 6), w, None, 1)
    with pytest.raises(ValueError, match='stride 1'):
        masked_conv2d_torch(x, mask, w, None, 1, stride=2)


def test_gradients_flow():
    x = torch.randn(1, 3, 5, 5, requires_grad=True)
    w = torch.randn(2, 3, 3, 3, requires_grad=True)
    b = torch.randn(2, requires_grad=True)
    mask = torch.ones(1, 5, 5)
    masked_conv2d_torch(x, mask, w, b, 1).sum().backward()
    ref_x = x.detach().clone().requires_grad_()
    F.conv2d(ref_x, w.detach(), b.detach(), padding=1).sum().backward()
    torch.testing.assert_close(x.grad, ref_x.grad)
    assert w.grad is not None and b.grad is not None


def test_mmcv_module_uses_the_fallback_on_cpu():
    conv = MaskedConv2d(4, 6, 3, padding=1)
    x = torch.randn(1, 4, 8, 8)
    mask = torch.zeros(1, 8, 8, dtype=torch.bool)
    mask[0, 2:6, 1:4] = True
    out = conv(x, mask)
    ref = conv(x)  # no mask: the plain convolution
    torch.testing.assert_close(out[0][:, mask[0]], ref[0][:, mask[0]])
    assert torch.count_nonzero(out[0][:, ~mask[0]]) == 0
