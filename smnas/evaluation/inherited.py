"""Accuracy of subnets with the weights they inherit from a trained supernet.

A supernet is loaded once; each subnet is then one mutator call and one pass over
the validation set. GroupNorm has no running statistics, so, unlike BatchNorm
supernets, no subnet needs its statistics recalibrated before it is scored.
"""
import copy
from typing import Dict

from mmengine.config import Config


def _search_config(cfg: Config, work_dir: str) -> Config:
    """The supernet config as an evaluation-only Runner config."""
    cfg = copy.deepcopy(cfg)
    cfg.work_dir = work_dir
    for key in ('train_dataloader', 'train_cfg', 'optim_wrapper', 'param_scheduler'):
        cfg[key] = None
    cfg.val_cfg = dict(type='ValLoop')
    cfg.load_from = None
    cfg.resume = False
    cfg.launcher = 'none'
    cfg.pop('model_wrapper_cfg', None)
    cfg.custom_hooks = [h for h in cfg.get('custom_hooks', []) if h.get('type') != 'SupernetMetaHook']
    cfg.log_level = 'WARNING'  # the search prints its own progress
    return cfg


class InheritedEvaluator:
    """Validation bbox mAP of any subnet of one trained supernet.

    Args:
        cfg: the supernet's config (the one it was trained with).
        checkpoint: a checkpoint written by ``tools/train_supernet.py``.
        work_dir: where the evaluation Runner writes its logs.

    Raises:
        smnas.modular.export.NotASupernetCheckpoint: not a supernet checkpoint, or one of
            another space (both spaces are shown).
    """

    def __init__(self, cfg: Config, checkpoint: str, work_dir: str):
        from mmengine.runner import Runner
        from supernet.engine import unwrap_model
        from supernet.space import ModularSpace

        from ..engine import load_local_checkpoint
        from ..modular.export import check_checkpoint_space

        self.space = ModularSpace.from_dict(dict(cfg.model.space))
        ckpt = load_local_checkpoint(checkpoint, map_location='cpu')
        check_checkpoint_space(ckpt, self.space.to_dict(), checkpoint)
        self.checkpoint = checkpoint
        self.runner = Runner.from_cfg(_search_config(cfg, work_dir))
        self.runner.load_checkpoint(checkpoint, map_location='cpu')
        self.model = unwrap_model(self.runner.model)

    def evaluate(self, subnet) -> Dict[str, float]:
        """``dict(mAP=..., mAP_50=...)`` of ``subnet`` (string or Subnet) on the val set;
        0 when it detects nothing above the score threshold."""
        from supernet.engine import bbox_scores

        with self.model.mutator.use(subnet):
            return bbox_scores(self.runner.val_loop.run())
