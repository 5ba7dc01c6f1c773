"""Shared fixtures of the supernet tests: a tiny space and the structures built around it."""
import pytest
from mmengine.optim import OptimWrapper

from supernet.space import ModularSpace

# Two bases, two blocks per stage, two neck and head widths: every code path, tiny tensors.
TINY_SPACE = ModularSpace(bases=(16, 24), max_depths=(2, 2, 2, 2), neck_channels=(32, 64),
                          head_channels=(32, 64))
RCNN = 'r18_fpn-p2p5-p6_rpn_rcnn_512x512'
# One structure of each detector type the modular stage supports (P3-P5 inputs for two),
# of each block family: basic (R18), bottleneck (R50), grouped bottleneck (X50), inverted
# residual (MobileNetV2, expansion ratios 3 and 6 by default; its stem output is P1), and of
# each neck and RPN: FPN or C4 (res5 as the RoI head), plain or Guided-Anchor RPN.
# The fast suite runs one structure for each; the slow one adds more combinations.
STRUCTURES = [RCNN, 'r50_fpn-p3p5-p6_rpn_cascade2_512x512', 'x50_fpn-p3p5-p6_none_retina_512x512',
              'r50_c4_ga_rcnn_512x512', 'mv2_fpn-p1p5-p6_rpn_rcnn_512x512'] + [
    pytest.param(s, marks=pytest.mark.slow) for s in
    ('r18_c4_rpn_rcnn_512x512', 'r18_fpn-p3p5-p6_ga_cascade2_512x512', 'mv2_fpn-p3p5-p5_none_retina_512x512')]


def tiny_space(structure: str) -> ModularSpace:
    """The tiny space with the block family of ``structure``'s backbone."""
    from smnas.modular.structure import space_for_structure

    return ModularSpace.from_dict(space_for_structure(TINY_SPACE.to_dict(), structure))


class CaptureGrads(OptimWrapper):
    """An optimizer wrapper that records the gradients at the step instead of stepping."""

    def step(self, **kwargs):
        self.grads = [None if p.grad is None else p.grad.clone()
                      for g in self.optimizer.param_groups for p in g['params']]
