"""Static (fixed-width) models that exported subnets load into.

``SubnetResNet`` has the same module names as :class:`SearchableResNet` restricted
to one subnet, with plain mmcv ``ConvWS2d`` and ``nn.GroupNorm`` layers, so an
exported checkpoint is the supernet's state dict with every tensor sliced to the
static shape (:func:`slice_state_dict`).
"""
from typing import Dict, Sequence, Tuple

import torch
from mmcv.cnn.bricks.conv_ws import ConvWS2d
from mmdet.registry import MODELS
from mmengine.model import BaseModule
from torch import nn

from ..ops import gn_groups
from ..space import BLOCKS, ModularSpace, Subnet


def _gn(c: int) -> nn.GroupNorm:
    return nn.GroupNorm(gn_groups(c), c)


class _Residual(nn.Module):
    """A residual block's shortcut: the identity, or a 1x1 projection (with its GN) where
    the width or the stride changes, as the supernet's blocks name them."""

    def _shortcut(self, in_c: int, out_c: int, stride: int) -> None:
        if stride != 1 or in_c != out_c:
            self.proj = ConvWS2d(in_c, out_c, 1, stride, 0, bias=False)
            self.proj_gn = _gn(out_c)
        else:
            self.proj = None
        self.relu = nn.ReLU(inplace=True)

    def shortcut(self, x: torch.Tensor) -> torch.Tensor:
        return x if self.proj is None else self.proj_gn(self.proj(x))


class BasicBlock(_Residual):
    """A fixed-width basic block (projection only where width or stride changes)."""

    def __init__(self, in_c: int, out_c: int, stride: int):
        super().__init__()
        self.conv1 = ConvWS2d(in_c, out_c, 3, stride, 1, bias=False)
        self.gn1 = _gn(out_c)
        self.conv2 = ConvWS2d(out_c, out_c, 3, 1, 1, bias=False)
        self.gn2 = _gn(out_c)
        self._shortcut(in_c, out_c, stride)

    def forward(self, x):
        out = self.relu(self.gn1(self.conv1(x)))
        return self.relu(self.gn2(self.conv2(out)) + self.shortcut(x))


def _conv_stack(block: nn.Module, in_c: int, mid: int, out_c: int, stride: int, groups: int) -> None:
    """A block's 1x1 (in -> mid), 3x3 (``groups``, ``stride``) and 1x1 (mid -> out) convs
    with their GNs, named conv1-3 and gn1-3 as the supernet's blocks name them."""
    block.conv1, block.gn1 = ConvWS2d(in_c, mid, 1, 1, 0, bias=False), _gn(mid)
    block.conv2, block.gn2 = ConvWS2d(mid, mid, 3, stride, 1, groups=groups, bias=False), _gn(mid)
    block.conv3, block.gn3 = ConvWS2d(mid, out_c, 1, 1, 0, bias=False), _gn(out_c)


class Bottleneck(_Residual):
    """A fixed-width bottleneck: 1x1, 3x3 (``groups``), 1x1 x ``expansion``; projection
    only where width or stride changes."""

    def __init__(self, in_c: int, width: int, stride: int, expansion: int = 4, mid_ratio: int = 1,
                 group_width: int = 0):
        super().__init__()
        mid, out_c = width * mid_ratio, width * expansion
        _conv_stack(self, in_c, mid, out_c, stride, mid // group_width if group_width else 1)
        self._shortcut(in_c, out_c, stride)

    def forward(self, x):
        out = self.relu(self.gn1(self.conv1(x)))
        out = self.relu(self.gn2(self.conv2(out)))
        return self.relu(self.gn3(self.conv3(out)) + self.shortcut(x))


class InvertedResidual(nn.Module):
    """A fixed-width inverted residual (1x1 expand, 3x3 depthwise, linear 1x1 project;
    the identity where stride is 1 and widths are equal), named as the supernet's."""

    def __init__(self, in_c: int, out_c: int, stride: int, ratio: int):
        super().__init__()
        hidden = in_c * ratio
        self.stride = stride
        _conv_stack(self, in_c, hidden, out_c, stride, groups=hidden)  # depthwise 3x3
        self.act = nn.ReLU6(inplace=True)
        self.identity = stride == 1 and in_c == out_c

    def forward(self, x):
        out = self.act(self.gn1(self.conv1(x)))
        out = self.act(self.gn2(self.conv2(out)))
        out = self.gn3(self.conv3(out))
        return out + x if self.identity else out


def _family(sub: Subnet, block: str) -> ModularSpace:
    """The family's shape rules, with the subnet's own depths and doublings."""
    if block not in BLOCKS:
        raise ValueError(f'unknown block family {block!r}; choose one of {", ".join(BLOCKS)}')
    return ModularSpace(bases=(sub.base, ), max_depths=tuple(len(st) for st in sub.stages),
                        doublings=tuple(st.count('2') for st in sub.stages), block=block,
                        expansions=(sub.expand, ) if block == 'inverted' else ())


def static_stage(sub: Subnet, space: ModularSpace, stage: int) -> nn.ModuleList:
    """The fixed-width blocks of ``sub``'s stage ``stage`` (0-based), named as the supernet's."""
    widths = sub.block_widths()
    in_c = sub.base if stage == 0 else widths[stage - 1][-1] * space.expansion
    blocks = []
    for j, w in enumerate(widths[stage]):
        stride = 2 if j == 0 and (stage > 0 or space.block == 'inverted') else 1
        if space.block == 'basic':
            blocks.append(BasicBlock(in_c, w, stride))
        elif space.block == 'inverted':
            blocks.append(InvertedResidual(in_c, w, stride, sub.expand))
        else:
            blocks.append(Bottleneck(in_c, w, stride, space.expansion, space.mid_ratio,
                                     space.group_width(stage) or 0))
        in_c = w * space.expansion
    return nn.ModuleList(blocks)


@MODELS.register_module()
class SubnetResNet(BaseModule):
    """The backbone of one subnet, e.g. ``arch='64_1-21-21-12_n256_h128'``.

    Args:
        arch: subnet string (only the backbone part is used).
        out_indices: stages whose outputs are returned.
        block: the block family (:data:`supernet.space.BLOCKS`): ``basic``,
            ``bottleneck``, ``grouped`` or ``inverted`` (MobileNetV2's blocks and stem).
        num_stages: stages built (3 for a C4 detector, whose stage 4 is its RoI head:
            :class:`SubnetResStage`).
    """

    def __init__(self, arch: str, out_indices: Sequence[int] = (0, 1, 2, 3), block: str = 'basic',
                 num_stages: int = 4, init_cfg=None):
        super().__init__(init_cfg)
        sub = Subnet.parse(arch)
        space = _family(sub, block)
        self.arch, self.block = arch, block
        self.out_indices = tuple(out_indices)
        b = sub.base
        if block == 'inverted':  # MobileNetV2's stem
            self.stem = nn.Sequential(ConvWS2d(3, b, 3, 2, 1, bias=False), _gn(b), nn.ReLU6(inplace=True))
        else:
            self.stem = nn.Sequential(ConvWS2d(3, b // 2, 3, 2, 1, bias=False), _gn(b // 2),
                                      nn.ReLU(inplace=True), ConvWS2d(b // 2, b, 3, 2, 1, bias=False),
                                      _gn(b), nn.ReLU(inplace=True))
        self.stages = nn.ModuleList(static_stage(sub, space, s) for s in range(num_stages))
        self.channels = space.feature_widths(sub, self.out_indices)

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        x = self.stem(x)
        outs = [x] if -1 in self.out_indices else []  # P1: a stride-2 stem's output
        for i, stage in enumerate(self.stages):
            for blk in stage:
                x = blk(x)
            if i in self.out_indices:
                outs.append(x)
        return tuple(outs)


@MODELS.register_module()
class SubnetResStage(BaseModule):
    """One stage of one subnet on its own: a C4 detector's RoI head (res5).

    Args:
        arch: subnet string.
        stage: the stage (0-based; 3 for res5).
        block: the block family, as for :class:`SubnetResNet`.
    """

    def __init__(self, arch: str, stage: int = 3, block: str = 'basic', init_cfg=None):
        super().__init__(init_cfg)
        sub = Subnet.parse(arch)
        self.arch, self.stage, self.block = arch, int(stage), block
        self.blocks = static_stage(sub, _family(sub, block), self.stage)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for blk in self.blocks:
            x = blk(x)
        return x


def slice_state_dict(src: Dict[str, torch.Tensor], target: nn.Module) -> Dict[str, torch.Tensor]:
    """The leading slice of every ``src`` tensor that ``target`` has, at ``target``'s shape.

    Raises:
        KeyError: ``target`` has a tensor ``src`` lacks.
        ValueError: a target tensor is larger than its source.
    """
    out = {}
    for name, t in target.state_dict().items():
        if name not in src:
            raise KeyError(f'{name} is not in the supernet checkpoint')
        s = src[name]
        if s.dim() != t.dim() or any(a > b for a, b in zip(t.shape, s.shape)):
            raise ValueError(f'{name}: static shape {tuple(t.shape)} does not fit in {tuple(s.shape)}')
        out[name] = s[tuple(slice(0, n) for n in t.shape)].clone()
    return out
