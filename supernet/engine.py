"""Runner pieces for supernet training: validation of several subnets, checkpoint meta."""
from typing import Dict, Optional, Sequence

from mmdet.registry import HOOKS, LOOPS
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.runner import ValLoop


#: mmdet's CocoMetric keys of the scores the searches rank by.
BBOX_MAP = 'coco/bbox_mAP'
BBOX_MAP_50 = 'coco/bbox_mAP_50'
BBOX_MAP_SE = 'coco/bbox_mAP_se'  # a bootstrap's standard error, where the metric gives one


def unwrap_model(model):
    """The model inside an mmengine/DDP wrapper (the model itself when unwrapped)."""
    return model.module if is_model_wrapper(model) else model


def bbox_scores(metrics: Optional[dict]) -> Dict[str, float]:
    """``dict(mAP=..., mAP_50=...)`` of an evaluator's metrics (0 when there are none:
    a model that detects nothing above the score threshold), with ``mAP_se`` when the
    metric gives the mAP's standard error."""
    metrics = metrics or {}
    out = dict(mAP=float(metrics.get(BBOX_MAP, 0.0)), mAP_50=float(metrics.get(BBOX_MAP_50, 0.0)))
    if BBOX_MAP_SE in metrics:
        out['mAP_se'] = float(metrics[BBOX_MAP_SE])
    return out


@LOOPS.register_module()
class SubnetsValLoop(ValLoop):
    """Validate several subnets with inherited weights, one full pass each.

    Args:
        runner, dataloader, evaluator, fp16: as ``ValLoop``.
        subnets: 'max', 'min' or subnet strings; metrics are prefixed with them
            (``max/coco/bbox_mAP``), so TensorBoard shows one curve per subnet.
    """

    def __init__(self, runner, dataloader, evaluator, fp16: bool = False,
                 subnets: Sequence[str] = ('max', 'min')):
        super().__init__(runner, dataloader, evaluator, fp16)
        self.subnets = list(subnets)

    def run(self) -> Dict[str, float]:
        self.runner.call_hook('before_val')
        self.runner.call_hook('before_val_epoch')
        self.runner.model.eval()
        model = unwrap_model(self.runner.model)
        metrics: Dict[str, float] = {}
        for name in self.subnets:
            with model.mutator.use(name):
                for idx, data_batch in enumerate(self.dataloader):
                    self.run_iter(idx, data_batch)
            result = self.evaluator.evaluate(len(self.dataloader.dataset))
            if not result:
                # No detection above the score threshold (an early, untrained subnet):
                # its AP is 0; record it so every subnet has a continuous curve.
                result = {BBOX_MAP: 0.0, BBOX_MAP_50: 0.0}
            for k, v in result.items():
                metrics[f'{name}/{k}'] = v
        self.runner.call_hook('after_val_epoch', metrics=metrics)
        self.runner.call_hook('after_val')
        return metrics


@HOOKS.register_module()
class SupernetMetaHook(Hook):
    """Store the supernet's search space in every checkpoint (``meta['supernet_space']``),
    so that search and export tools can refuse a checkpoint of another space, and the part
    of it a few-shot supernet was trained on (``meta['supernet_part']``, None: all of it),
    so that a search scores each subnet with its part's weights."""

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        model = unwrap_model(runner.model)
        meta = checkpoint.setdefault('meta', {})
        meta['supernet_space'] = model.space.to_dict()
        meta['supernet_part'] = dict(getattr(model, 'part', None) or {}) or None
