"""The searchable backbone: every subnet is a path; exported static backbone equals it."""
import random

import pytest
import torch

from supernet.models import SearchableResNet, SubnetResNet, slice_state_dict
from supernet.space import ModularSpace, Subnet

SPACE = ModularSpace()


@pytest.fixture(scope='module')
def supernet():
    torch.manual_seed(0)
    net = SearchableResNet(SPACE.to_dict())
    net.init_weights()
    for m in net.modules():  # non-trivial GN affine so that equality tests mean something
        if isinstance(m, torch.nn.GroupNorm):
            torch.nn.init.normal_(m.weight, 1.0, 0.2)
            torch.nn.init.normal_(m.bias, 0.0, 0.2)
    return net.eval()


SUBNETS = ['64_1-21-21-12_n256_h128', str(SPACE.max_subnet()), str(SPACE.min_subnet())] + \
    [str(SPACE.sample(random.Random(i))) for i in range(4)]


@pytest.mark.parametrize('arch', SUBNETS)
def test_exported_backbone_equals_supernet_at_subnet(supernet, arch):
    sub = Subnet.parse(arch)
    supernet.apply_subnet(sub)
    static = SubnetResNet(arch).eval()
    static.load_state_dict(slice_state_dict(supernet.state_dict(), static))
    x = torch.randn(1, 3, 64, 96)
    with torch.no_grad():
        a, b = supernet(x), static(x)
    assert [t.shape[1] for t in a] == sub.stage_widths() == static.channels
    assert [t.shape[-1] for t in a] == [24, 12, 6, 3]  # strides 4, 8, 16, 32
    for u, v in zip(a, b):
        torch.testing.assert_close(u, v, rtol=1e-4, atol=1e-4)
    assert supernet.stage_channels()[0] == sub.stage_widths()


def test_every_parameter_gets_a_gradient_at_max():
    net = SearchableResNet(SPACE.to_dict())
    net.init_weights()
    for stage in net.stages:  # undo the zero-init so every branch is live for this check
        for blk in stage:
            torch.nn.init.ones_(blk.gn2.weight)
    net.apply_subnet(SPACE.max_subnet())
    sum(o.mean() for o in net(torch.randn(2, 3, 64, 64))).backward()
    missing = [n for n, p in net.named_parameters() if p.grad is None or not torch.isfinite(p.grad).all()]
    # the max subnet doubles at the first block of each stage, so only the first
    # block of stages 2-4 uses a projection; other projections are legitimately idle
    assert all('proj' in n for n in missing), missing
    assert not [n for n in missing if '.0.proj' in n and not n.startswith('stages.0')]


def _random_gn(space: ModularSpace, seed: int) -> SearchableResNet:
    """A searchable backbone of ``space`` in eval mode with non-trivial GN affine parameters
    (so that equality with its export means something)."""
    torch.manual_seed(seed)
    net = SearchableResNet(space.to_dict())
    net.init_weights()
    for m in net.modules():
        if isinstance(m, torch.nn.GroupNorm):
            torch.nn.init.normal_(m.weight, 1.0, 0.2)
            torch.nn.init.normal_(m.bias, 0.0, 0.2)
    return net.eval()


@pytest.mark.parametrize('block', ['bottleneck', 'grouped'])
def test_bottleneck_families_export_exactly_and_widen_by_four(block):
    """R50/R101 and ResNeXt blocks: the digits' widths are the bottleneck widths, the stage
    outputs four times them; a grouped 3x3 keeps groups of the stage's group width."""
    space = ModularSpace(bases=(16, 24), max_depths=(2, 2, 3, 2), neck_channels=(32, ), head_channels=(32, ),
                         block=block)
    net = _random_gn(space, seed=1)
    for sub in [space.max_subnet(), space.min_subnet(), space.sample(random.Random(2))]:
        net.apply_subnet(sub)
        static = SubnetResNet(str(sub), block=block).eval()
        static.load_state_dict(slice_state_dict(net.state_dict(), static))
        x = torch.randn(1, 3, 64, 64)
        with torch.no_grad():
            a, b = net(x), static(x)
        assert [t.shape[1] for t in a] == [4 * w for w in sub.stage_widths()] == space.out_widths(sub)
        for u, v in zip(a, b):
            torch.testing.assert_close(u, v, rtol=1e-4, atol=1e-4)
        conv = static.stages[1][0].conv2
        assert conv.groups == (conv.in_channels // 8 if block == 'grouped' else 1)
    assert net.stage_channels()[1] == space.max_widths()['stages']


def test_inverted_residuals_export_exactly_with_the_identity_where_widths_match():
    """MobileNetV2's family: stem stride 2, every stage's first block strides; the
    expansion ratio sets the expanded width; the identity only where widths are equal."""
    space = ModularSpace(bases=(16, 24), max_depths=(2, 3, 3, 2), neck_channels=(32, ), head_channels=(32, ),
                         block='inverted', expansions=(3, 6))
    net = _random_gn(space, seed=2)
    subs = [space.max_subnet(), space.min_subnet(), Subnet.parse('16_11-121-112-12_e3_n32_h32')]
    for sub in subs:
        net.apply_subnet(sub)
        static = SubnetResNet(str(sub), block='inverted').eval()
        static.load_state_dict(slice_state_dict(net.state_dict(), static))
        x = torch.randn(1, 3, 64, 96)
        with torch.no_grad():
            a, b = net(x), static(x)
        assert [t.shape[1] for t in a] == sub.stage_widths() == space.out_widths(sub)
        assert [t.shape[-1] for t in a] == [24, 12, 6, 3]  # strides 4, 8, 16, 32
        for u, v in zip(a, b):
            torch.testing.assert_close(u, v, rtol=1e-4, atol=1e-4)
        first = static.stages[0][0]
        assert first.conv1.out_channels == sub.base * sub.expand
        assert first.conv2.groups == first.conv2.in_channels  # depthwise
    blocks = SubnetResNet('16_11-121-112-12_e3_n32_h32', block='inverted').stages
    # '11-121-112-12': a first block strides, a '2' doubles: neither adds its input
    assert [[b.identity for b in st] for st in blocks] == [[False, True], [False, False, True],
                                                            [False, True, False], [False, False]]
