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


class ClassCountMismatch(ValueError):
    """The model predicts another number of classes than the dataset has."""


def model_class_counts(model) -> dict:
    """``{module name: num_classes}`` of a detector's classifying heads (RPN heads,
    which only tell objects from background, left out)."""
    out = {}
    for name, m in model.named_modules():
        n = getattr(m, 'num_classes', None)
        if isinstance(n, int) and 'rpn' not in name.split('.')[-1] and not any(
                isinstance(getattr(c, 'num_classes', None), int) for c in m.children()):
            out[name or type(m).__name__] = n
    return out


def check_class_count(model, dataset, split: str) -> None:
    """Raise :class:`ClassCountMismatch` naming both counts when a head of ``model``
    predicts another number of classes than ``dataset`` has; say nothing otherwise
    (also when the dataset does not list its classes)."""
    classes = (getattr(dataset, 'metainfo', None) or {}).get('classes')
    if not classes:
        return
    wrong = {k: n for k, n in model_class_counts(model).items() if n != len(classes)}
    if wrong:
        heads = ', '.join(f'{k} num_classes={n}' for k, n in wrong.items())
        raise ClassCountMismatch(
            f'the model predicts another number of classes than the {split} dataset has: {heads}, but '
            f'the dataset has {len(classes)} ({", ".join(map(str, classes))}); set num_classes to '
            f'{len(classes)} in the config (model.architecture.num_classes for a supernet)')


@HOOKS.register_module()
class ClassCountCheckHook(Hook):
    """Check, before the first training step and before validating, that the model's
    heads predict as many classes as the dataset has (otherwise training runs and the
    first validation fails deep inside the COCO metric with an IndexError)."""

    priority = 'VERY_HIGH'

    def before_train(self, runner) -> None:
        check_class_count(_unwrap(runner.model), runner.train_loop.dataloader.dataset, 'training')

    def before_val(self, runner) -> None:
        check_class_count(_unwrap(runner.model), runner.val_loop.dataloader.dataset, 'validation')

    def before_test(self, runner) -> None:
        check_class_count(_unwrap(runner.model), runner.test_loop.dataloader.dataset, 'test')


def _unwrap(model):
    return getattr(model, 'module', model)


def with_run_checks(cfg):
    """Add smnas's checks to a runnable config (idempotent): the class count, and the
    stop at a non-finite loss.

    Args:
        cfg: an mmengine config (modified in place).

    Returns:
        ``cfg``.
    """
    hooks = list(cfg.get('custom_hooks') or [])
    for kind in ('ClassCountCheckHook', 'FailOnNonFiniteLossHook'):
        if not any(h.get('type') == kind for h in hooks):
            hooks.append(dict(type=kind))
    cfg.custom_hooks = hooks
    return cfg
