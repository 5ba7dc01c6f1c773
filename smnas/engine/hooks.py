"""mmengine hooks registered by smnas."""
import math
from typing import Optional

from mmengine.hooks import Hook
from mmdet.registry import HOOKS


class NonFiniteLossError(RuntimeError):
    """Training diverged: the loss became NaN or infinite."""


@HOOKS.register_module()
class FailOnNonFiniteLossHook(Hook):
    """Stop training at the first NaN/inf loss, with the iteration and loss terms named.

    Without it a diverged candidate keeps training on NaN weights for the rest of
    its schedule and is then scored as a (misleading) mAP of 0.
    """

    priority = 'VERY_HIGH'

    def after_train_iter(self, runner, batch_idx: int, data_batch=None,
                         outputs: Optional[dict] = None) -> None:
        if not outputs:
            return
        bad = {k: float(v) for k, v in outputs.items()
               if k.startswith('loss') and hasattr(v, 'item') and not math.isfinite(float(v))}
        if bad:
            terms = ', '.join(f'{k}={v}' for k, v in bad.items())
            raise NonFiniteLossError(f'loss became non-finite at iteration {runner.iter + 1}: {terms}')
