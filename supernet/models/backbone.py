"""A slimmable, elastic-depth ResNet backbone over the modular space.

Deep stem (two 3x3 stride-2 convs, C/2 then C, no max-pool), four stages of blocks of
the space's family (basic, bottleneck or grouped bottleneck; stride 2 at the first
block of stages 2-4), GroupNorm + Weight Standardization throughout. MobileNetV2's
inverted residuals are a family of the same backbone: one 3x3 stride-2 stem conv, and
stride 2 at the first block of every stage. Every block
holds weights for its largest possible input and output widths; which blocks run and
at which widths is set by a mutator (:class:`supernet.mutator.SubnetMutator`), never by
``forward()`` arguments.
"""
from typing import List, Optional, Sequence, Tuple

import torch
from mmdet.registry import MODELS
from mmengine.model import BaseModule
from torch import nn

from ..ops import DynamicConv2d, DynamicGroupNorm
from ..space import ModularSpace


def _conv_stack(block: nn.Module, max_in: int, mid: int, out: int, stride: int, **conv2) -> None:
    """A block's dynamic 1x1 (in -> mid), 3x3 (``stride``; ``conv2``: its grouping) and
    1x1 (mid -> out) convs with Weight Standardization and their GNs, named conv1-3, gn1-3."""
    block.conv1, block.gn1 = DynamicConv2d(max_in, mid, 1, 1, 0, weight_std=True), DynamicGroupNorm(mid)
    block.conv2 = DynamicConv2d(mid, mid, 3, stride, 1, weight_std=True, **conv2)
    block.gn2 = DynamicGroupNorm(mid)
    block.conv3, block.gn3 = DynamicConv2d(mid, out, 1, 1, 0, weight_std=True), DynamicGroupNorm(out)


class _DynamicResidual(nn.Module):
    """What every dynamic residual block shares: a projection shortcut (used when the
    active width or the stride changes), and widths read from its ops (``active_out``),
    never stored by the block. A subclass names its output conv and its last norm."""

    def _shortcut(self, max_in: int, max_out: int, stride: int) -> None:
        self.stride = stride
        self.proj = DynamicConv2d(max_in, max_out, 1, stride, 0, weight_std=True)
        self.proj_gn = DynamicGroupNorm(max_out)
        self.relu = nn.ReLU(inplace=True)

    def out_conv(self) -> DynamicConv2d:
        raise NotImplementedError

    def last_norm(self) -> nn.Module:
        """The residual branch's last norm (zero-initialised: the block starts as identity)."""
        raise NotImplementedError

    @property
    def out_width(self) -> int:
        """The block's active output width."""
        conv = self.out_conv()
        return conv.active_out or conv.out_channels

    @property
    def max_out_width(self) -> int:
        return self.out_conv().out_channels

    def needs_projection(self, in_channels: int) -> bool:
        return self.stride != 1 or in_channels != self.out_width

    def shortcut(self, x: torch.Tensor) -> torch.Tensor:
        return self.proj_gn(self.proj(x)) if self.needs_projection(x.size(1)) else x


class DynamicBasicBlock(_DynamicResidual):
    """Two 3x3 conv-GN layers and a shortcut (projection when width or stride changes).

    Args:
        max_in: largest input width.
        max_out: largest output width.
        stride: stride of the first conv (and the projection).

    The block's width is its convs' ``active_out`` (set by the mutator through
    :meth:`set_width`); the block stores no width of its own.
    """

    def __init__(self, max_in: int, max_out: int, stride: int = 1):
        super().__init__()
        self.conv1 = DynamicConv2d(max_in, max_out, 3, stride, 1, weight_std=True)
        self.gn1 = DynamicGroupNorm(max_out)
        self.conv2 = DynamicConv2d(max_out, max_out, 3, 1, 1, weight_std=True)
        self.gn2 = DynamicGroupNorm(max_out)
        self._shortcut(max_in, max_out, stride)

    def set_width(self, out: Optional[int]) -> None:
        """Set the block's output width (None: maximum); the mutator calls it."""
        for conv in (self.conv1, self.conv2, self.proj):
            conv.active_out = out

    def out_conv(self) -> DynamicConv2d:
        return self.conv1

    def last_norm(self) -> nn.Module:
        return self.gn2

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.gn1(self.conv1(x)))
        return self.relu(self.gn2(self.conv2(out)) + self.shortcut(x))


class DynamicBottleneck(_DynamicResidual):
    """A 1x1 reduce, a 3x3 (optionally grouped) and a 1x1 expand conv-GN layer and a
    shortcut (projection when width or stride changes), as ResNet-50's and ResNeXt's.

    Args:
        max_in: largest input width.
        max_width: largest block width (the digits' width: the 3x3 conv is
            ``mid_ratio`` times it, the output ``expansion`` times it).
        stride: stride of the 3x3 conv (and the projection), as torchvision's ResNet v1.5.
        expansion: output width per block width.
        mid_ratio: 3x3 conv width per block width.
        group_width: channels per group of the 3x3 conv (None: not grouped).
    """

    def __init__(self, max_in: int, max_width: int, stride: int = 1, expansion: int = 4,
                 mid_ratio: int = 1, group_width: Optional[int] = None):
        super().__init__()
        self.expansion, self.mid_ratio = expansion, mid_ratio
        mid, out = max_width * mid_ratio, max_width * expansion
        _conv_stack(self, max_in, mid, out, stride, group_width=group_width)
        self._shortcut(max_in, out, stride)

    def set_width(self, width: Optional[int]) -> None:
        """Set the block width (None: maximum); the mutator calls it."""
        self.conv1.active_out = self.conv2.active_out = None if width is None else width * self.mid_ratio
        self.conv3.active_out = self.proj.active_out = None if width is None else width * self.expansion

    def out_conv(self) -> DynamicConv2d:
        return self.conv3

    def last_norm(self) -> nn.Module:
        return self.gn3

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.gn1(self.conv1(x)))
        out = self.relu(self.gn2(self.conv2(out)))
        return self.relu(self.gn3(self.conv3(out)) + self.shortcut(x))


class DynamicInvertedResidual(nn.Module):
    """MobileNetV2's inverted residual: a 1x1 expand conv to ``ratio x`` the input width,
    a 3x3 depthwise conv (ReLU6 after both) and a linear 1x1 projection, GN + WS
    throughout; the identity is added where the stride is 1 and the active input and
    output widths are equal (no projection shortcut, as in MobileNetV2).

    Args:
        max_in: largest input width.
        max_out: largest output width.
        stride: stride of the depthwise conv.
        max_ratio: largest expansion ratio.
    """

    def __init__(self, max_in: int, max_out: int, stride: int = 1, max_ratio: int = 6):
        super().__init__()
        self.stride = stride
        hidden = max_in * max_ratio
        _conv_stack(self, max_in, hidden, max_out, stride, depthwise=True)
        self.act = nn.ReLU6(inplace=True)

    def set_width(self, out: Optional[int], in_width: Optional[int] = None,
                  ratio: Optional[int] = None) -> None:
        """Set the output width and, from the input width and the expansion ratio, the
        expanded width (None: maximum); the mutator calls it."""
        self.conv1.active_out = None if in_width is None or ratio is None else in_width * ratio
        self.conv3.active_out = out

    @property
    def out_width(self) -> int:
        return self.conv3.active_out or self.conv3.out_channels

    @property
    def max_out_width(self) -> int:
        return self.conv3.out_channels

    def last_norm(self) -> Optional[nn.Module]:
        """None: a block without identity (stride 2, or a width change) would output
        zeros from a zeroed last norm, so inverted residuals keep theirs at one."""
        return None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.act(self.gn1(self.conv1(x)))
        out = self.act(self.gn2(self.conv2(out)))
        out = self.gn3(self.conv3(out))
        return out + x if self.stride == 1 and out.shape[1] == x.shape[1] else out


def make_block(space: ModularSpace, stage: int, max_in: int, max_width: int, stride: int) -> nn.Module:
    """A dynamic block of ``space``'s family at stage ``stage`` (0-based)."""
    if space.block == 'basic':
        return DynamicBasicBlock(max_in, max_width, stride)
    if space.block == 'inverted':
        return DynamicInvertedResidual(max_in, max_width, stride, max(space.expansions))
    return DynamicBottleneck(max_in, max_width, stride, space.expansion, space.mid_ratio,
                             space.group_width(stage))


def first_stride(space: ModularSpace, stage: int) -> int:
    """Stride of a stage's first block: 2 in stages 2-4; in stage 1 too for inverted
    residuals, whose stem has stride 2 (a ResNet's deep stem has stride 4)."""
    return 2 if (stage > 0 or space.block == 'inverted') else 1


def make_stage(space: ModularSpace, stage: int) -> nn.ModuleList:
    """The dynamic blocks of stage ``stage`` (0-based) at their largest widths; a later
    block takes the stage's largest output in."""
    max_in, width = space.max_stage_plan()[stage]
    return nn.ModuleList(make_block(space, stage, max_in if j == 0 else width * space.expansion, width,
                                    stride=first_stride(space, stage) if j == 0 else 1)
                         for j in range(space.max_depths[stage]))


def set_stage(blocks: nn.ModuleList, subnet, stage: int) -> None:
    """Set the widths of the blocks of ``subnet``'s stage ``stage`` (0-based) that run."""
    widths = subnet.block_widths()
    w_in = subnet.base if stage == 0 else widths[stage - 1][-1]
    for blk, w in zip(blocks, widths[stage]):
        if isinstance(blk, DynamicInvertedResidual):
            blk.set_width(w, w_in, subnet.expand)
        else:
            blk.set_width(w)
        w_in = w


def make_stem(space: ModularSpace) -> nn.Sequential:
    """Deep stem of a ResNet (two 3x3 stride-2 convs, C/2 then C, no max-pool), or
    MobileNetV2's (one 3x3 stride-2 conv, ReLU6), at the largest base width."""
    base = max(space.bases)
    if space.block == 'inverted':
        return nn.Sequential(DynamicConv2d(3, base, 3, 2, 1, weight_std=True), DynamicGroupNorm(base),
                             nn.ReLU6(inplace=True))
    return nn.Sequential(
        DynamicConv2d(3, base // 2, 3, 2, 1, weight_std=True), DynamicGroupNorm(base // 2),
        nn.ReLU(inplace=True),
        DynamicConv2d(base // 2, base, 3, 2, 1, weight_std=True), DynamicGroupNorm(base),
        nn.ReLU(inplace=True))


def init_residual(module: nn.Module, stages: Sequence[nn.ModuleList]) -> None:
    """Kaiming convs, unit GN, and the last GN of every residual branch at zero: every
    block starts as the identity, which keeps deep and shallow subnets trainable together."""
    for m in module.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode='fan_out', nonlinearity='relu')
        elif isinstance(m, nn.GroupNorm):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
    for stage in stages:
        for blk in stage:
            if blk.last_norm() is not None:
                nn.init.zeros_(blk.last_norm().weight)


@MODELS.register_module()
class SearchableResNet(BaseModule):
    """The modular-stage backbone: every subnet of a :class:`ModularSpace` is a path in it.

    Args:
        space: the modular space (dict form accepted), which sets the maximum widths
            and depths.
        out_indices: stages whose outputs are returned (0-based: P2-P5); -1 is the
            stem's output (P1), which inverted residuals' stride-2 stem has.
        num_stages: stages built (3 for a C4 detector, whose stage 4 is its RoI head).
        init_cfg: mmengine init config.

    Attributes:
        active_depths: blocks run per stage (set by the mutator; None: all).
    """

    def __init__(self, space: Optional[dict] = None, out_indices: Sequence[int] = (0, 1, 2, 3),
                 num_stages: int = 4, init_cfg=None):
        super().__init__(init_cfg)
        self.space = space if isinstance(space, ModularSpace) else ModularSpace.from_dict(space or {})
        self.out_indices = tuple(out_indices)
        if not 1 <= num_stages <= len(self.space.max_depths) or max(self.out_indices) >= num_stages:
            raise ValueError(f'num_stages {num_stages} must be 1..{len(self.space.max_depths)} and '
                             f'cover out_indices {self.out_indices}')
        if min(self.out_indices) < (-1 if self.space.block == 'inverted' else 0):
            raise ValueError(f'out_indices {self.out_indices}: only a stride-2 stem (inverted residuals) '
                             f'has a P1 output (-1)')
        self.stem = make_stem(self.space)
        # C4 detectors build stages 1-3 here; stage 4 is their RoI head (SearchableResStage)
        self.stages = nn.ModuleList(make_stage(self.space, s) for s in range(num_stages))
        self.active_depths: Optional[List[int]] = None

    def apply_subnet(self, subnet) -> None:
        """Set depths and widths for ``subnet`` (called by the mutator, never in forward)."""
        if self.space.block == 'inverted':
            self.stem[0].active_out = subnet.base
        else:
            self.stem[0].active_out = subnet.base // 2
            self.stem[3].active_out = subnet.base
        self.active_depths = [len(stage) for stage in subnet.stages]
        for s, stage in enumerate(self.stages):
            set_stage(stage, subnet, s)

    def stage_channels(self) -> Tuple[List[int], List[int]]:
        """(current, maximum) output widths of the returned stages."""
        stem = self.stem[-3]  # the conv that sets the stem's width
        maximum = [stem.out_channels if i < 0 else self.stages[i][0].max_out_width for i in self.out_indices]
        current = []
        for i in self.out_indices:
            if i < 0:
                current.append(stem.active_out or stem.out_channels)
                continue
            depth = self.active_depths[i] if self.active_depths else len(self.stages[i])
            blk = self.stages[i][depth - 1]
            current.append(blk.out_width)
        return current, maximum

    @property
    def strides(self) -> List[int]:
        """Output stride of each returned stage."""
        return [4 * 2 ** i for i in self.out_indices]

    def init_weights(self):
        super().init_weights()
        if self.init_cfg is None:
            init_residual(self, self.stages)

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        x = self.stem(x)
        outs = [x] if -1 in self.out_indices else []
        for i, stage in enumerate(self.stages):
            depth = self.active_depths[i] if self.active_depths else len(stage)
            for blk in stage[:depth]:
                x = blk(x)
            if i in self.out_indices:
                outs.append(x)
        return tuple(outs)


@MODELS.register_module()
class SearchableResStage(BaseModule):
    """One stage of the searchable ResNet on its own: the RoI head of a C4 detector
    (its res5 runs on the pooled RoIs, as mmdet's ``ResLayer`` shared head), searched
    like the backbone's stages.

    Args:
        space: the modular space (dict form accepted).
        stage: the stage (0-based; 3 for res5).
        init_cfg: mmengine init config.
    """

    def __init__(self, space: Optional[dict] = None, stage: int = 3, init_cfg=None):
        super().__init__(init_cfg)
        self.space = space if isinstance(space, ModularSpace) else ModularSpace.from_dict(space or {})
        self.stage = int(stage)
        self.blocks = make_stage(self.space, self.stage)
        self.active_depth: Optional[int] = None

    def apply_subnet(self, subnet) -> None:
        """Set the depth and widths of the subnet's stage ``stage`` (the mutator calls it)."""
        self.active_depth = len(subnet.stages[self.stage])
        set_stage(self.blocks, subnet, self.stage)

    def init_weights(self):
        super().init_weights()
        if self.init_cfg is None:
            init_residual(self, [self.blocks])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for blk in self.blocks[:self.active_depth or len(self.blocks)]:
            x = blk(x)
        return x
