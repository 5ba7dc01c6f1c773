"""Helpers shared by the tests and the install check: tiny detectors and batches.

Models are built from the repository's own configs (``configs/_base_/models``), so
what the tests exercise is what users train.
"""
import logging
from typing import Optional, Tuple

import torch
from mmengine.config import Config, ConfigDict
from mmengine.logging import MMLogger

from .utils.paths import CONFIG_DIR, REPO_ROOT, config_path  # noqa: F401  re-exported for tests


def model_cfg(rel: str = '_base_/models/faster-rcnn_r18_fpn_gnws.py',
              num_classes: int = 3) -> ConfigDict:
    """The ``model`` dict of a config file with ``num_classes`` set on its heads."""
    model = Config.fromfile(str(config_path(rel))).model
    roi = model.get('roi_head')
    if roi is not None:
        heads = roi.bbox_head if isinstance(roi.bbox_head, list) else [roi.bbox_head]
        for h in heads:
            h.num_classes = num_classes
    if model.get('bbox_head') is not None:
        model.bbox_head.num_classes = num_classes
    return model


def build_detector(cfg: ConfigDict, seed: Optional[int] = 0) -> torch.nn.Module:
    """Build and initialise an mmdet detector from a model config (registers smnas)."""
    import smnas.register  # noqa: F401  registers our modules and CPU fallbacks
    from mmdet.registry import MODELS
    from mmdet.utils import register_all_modules

    register_all_modules(init_default_scope=True)
    if seed is not None:
        torch.manual_seed(seed)
    # mmdet reads train_cfg/test_cfg by attribute: plain dicts must become ConfigDicts.
    model = MODELS.build(ConfigDict(cfg) if not isinstance(cfg, ConfigDict) else cfg)
    # init_weights logs one INFO block per parameter; keep test and install output readable.
    logger = MMLogger.get_current_instance()
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        model.init_weights()
    finally:
        logger.setLevel(level)
    return model


def demo_batch(batch_size: int = 2, size: Tuple[int, int] = (64, 64), num_classes: int = 3,
               num_boxes: int = 3) -> dict:
    """A deterministic batch in the form ``model.train_step``/``val_step`` take.

    Args:
        batch_size: images in the batch.
        size: (height, width) of every image.
        num_classes: labels are drawn from ``range(num_classes)``.
        num_boxes: ground-truth boxes per image.

    Returns:
        ``dict(inputs=[uint8 CHW tensors], data_samples=[DetDataSample])``.
    """
    from mmdet.testing import demo_mm_inputs

    return demo_mm_inputs(batch_size=batch_size, image_shapes=(3, size[0], size[1]),
                          num_items=[num_boxes] * batch_size, num_classes=num_classes)
