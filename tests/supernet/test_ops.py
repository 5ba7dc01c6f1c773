"""Dynamic ops equal their static ops at max width, and the static op holding the
leading weight slice at every width."""
import pytest
import torch
import torch.nn.functional as F
from mmcv.cnn.bricks.conv_ws import ConvWS2d
from torch import nn

from supernet.ops import DynamicConv2d, DynamicGroupNorm, DynamicLinear, gn_groups


def _sliced(static: nn.Module, weight: torch.Tensor, bias=None) -> nn.Module:
    """``static`` with its parameters copied from the leading slices of ``weight``/``bias``."""
    with torch.no_grad():
        static.weight.copy_(weight[tuple(slice(0, n) for n in static.weight.shape)])
        if bias is not None:
            static.bias.copy_(bias[:static.bias.numel()])
    return static


@pytest.mark.parametrize('ws', [False, True])
@pytest.mark.parametrize('k, stride', [(1, 1), (3, 1), (3, 2)])
def test_conv_at_max_equals_static(ws, k, stride):
    torch.manual_seed(0)
    dyn = DynamicConv2d(16, 24, k, stride=stride, padding=k // 2, bias=True, weight_std=ws)
    static = (ConvWS2d if ws else nn.Conv2d)(16, 24, k, stride=stride, padding=k // 2, bias=True)
    static.load_state_dict(dyn.state_dict())
    x = torch.randn(2, 16, 9, 9)
    torch.testing.assert_close(dyn(x), static(x))


@pytest.mark.parametrize('ws', [False, True])
@pytest.mark.parametrize('in_c, out_c', [(16, 24), (8, 24), (16, 8), (4, 4)])
def test_conv_equals_the_static_slice_at_every_width(ws, in_c, out_c):
    torch.manual_seed(1)
    dyn = DynamicConv2d(16, 24, 3, padding=1, bias=True, weight_std=ws)
    dyn.active_out = out_c
    x = torch.randn(2, in_c, 7, 7)
    y = dyn(x)
    assert y.shape == (2, out_c, 7, 7)
    static = (ConvWS2d if ws else nn.Conv2d)(in_c, out_c, 3, padding=1, bias=True)
    static = _sliced(static, dyn.weight, dyn.bias)
    torch.testing.assert_close(y, static(x))
    if not ws:  # the leading slice, exactly
        torch.testing.assert_close(y, F.conv2d(x, dyn.weight[:out_c, :in_c], dyn.bias[:out_c], padding=1))


def test_depthwise_conv_follows_input_width():
    dyn = DynamicConv2d(16, 16, 3, padding=1, depthwise=True)
    x = torch.randn(1, 8, 5, 5)
    assert dyn(x).shape == (1, 8, 5, 5)
    static = _sliced(nn.Conv2d(8, 8, 3, padding=1, groups=8, bias=False), dyn.weight)
    torch.testing.assert_close(dyn(x), static(x))


def test_widths_beyond_the_maximum_are_refused():
    dyn = DynamicConv2d(8, 8, 1)
    with pytest.raises(ValueError, match='more than the maximum'):
        dyn(torch.randn(1, 9, 3, 3))
    dyn.active_out = 9
    with pytest.raises(ValueError, match='exceeds the maximum'):
        dyn(torch.randn(1, 8, 3, 3))


@pytest.mark.parametrize('c', [24, 28, 48, 56, 64, 72, 128])
def test_group_norm_every_width_is_valid_and_equals_the_static_slice(c):
    gn = DynamicGroupNorm(576)
    nn.init.normal_(gn.weight)
    nn.init.normal_(gn.bias)
    x = torch.randn(2, c, 4, 4)
    y = gn(x)
    assert y.shape == x.shape and c % gn_groups(c) == 0
    static = _sliced(nn.GroupNorm(gn_groups(c), c), gn.weight, gn.bias)
    torch.testing.assert_close(y, static(x))


def test_group_norm_at_max_equals_static():
    gn = DynamicGroupNorm(64)
    static = nn.GroupNorm(8, 64)
    static.load_state_dict(gn.state_dict())
    x = torch.randn(2, 64, 3, 3)
    torch.testing.assert_close(gn(x), static(x))


def test_linear_at_max_and_sliced():
    lin = DynamicLinear(32, 16)
    static = nn.Linear(32, 16)
    static.load_state_dict(lin.state_dict())
    x = torch.randn(3, 32)
    torch.testing.assert_close(lin(x), static(x))
    lin.active_out = 8
    x = torch.randn(3, 20)
    torch.testing.assert_close(lin(x), _sliced(nn.Linear(20, 8), lin.weight, lin.bias)(x))
    assert lin(x).shape == (3, 8)


def test_gradients_reach_only_the_active_slice():
    dyn = DynamicConv2d(8, 8, 3, padding=1, weight_std=True)
    dyn.active_out = 4
    dyn(torch.randn(1, 6, 5, 5)).sum().backward()
    g = dyn.weight.grad
    assert g[:4, :6].abs().sum() > 0 and g[4:].abs().sum() == 0 and g[:, 6:].abs().sum() == 0
