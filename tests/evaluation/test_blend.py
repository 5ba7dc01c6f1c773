"""The blend of the inherited mAP and the box loss (smnas.evaluation.blend)."""
import pytest

from smnas.evaluation.blend import box_blend_scale, box_blend_scores


def test_box_blend_weighs_the_box_loss_by_the_ratio_of_the_spreads():
    """mAP 0.1-0.4 and a box loss 2-8 (each spread 4x apart): the loss weighs sd(mAP)/sd(loss)
    = 0.05, so each moves the blend alike; a loss that never changes has no scale."""
    maps, losses = [0.1, 0.2, 0.3, 0.4], [8.0, 6.0, 4.0, 2.0]
    assert box_blend_scale(maps, losses) == pytest.approx(0.05)
    assert box_blend_scores(maps, losses) == pytest.approx([-0.3, -0.1, 0.1, 0.3])
    assert box_blend_scores(maps, losses, scale=0.0) == maps
    with pytest.raises(ValueError, match='the same for all 4 subnets'):
        box_blend_scale(maps, [1.0] * 4)
    with pytest.raises(ValueError, match='not 4 and 3'):
        box_blend_scale(maps, losses[:3])
