"""Turn a structural :class:`~smnas.structural.space.Candidate` into an mmdet config.

Detectors are trained from scratch with GroupNorm + Weight Standardization by
default (``norm='gnws'``); ``pretrained`` maps a backbone name to a *local*
checkpoint file used as its initialisation (nothing is ever downloaded).
"""
import copy
from typing import Dict, List, Optional

from mmengine.config import Config

from .space import BACKBONES, Candidate, StructuralSpace

# Cascade stage settings (Cai & Vasconcelos): IoU thresholds rise, target stds shrink.
_CASCADE_IOU = (0.5, 0.6, 0.7, 0.75)
_CASCADE_STDS = ((0.1, 0.1, 0.2, 0.2), (0.05, 0.05, 0.1, 0.1), (0.033, 0.033, 0.067, 0.067),
                 (0.025, 0.025, 0.05, 0.05))
_CASCADE_WEIGHTS = (1.0, 0.5, 0.25, 0.125)
# MobileNetV2 block index of each pyramid level (mmdet's MobileNetV2 out_indices).
_MV2_INDEX = {1: 0, 2: 1, 3: 2, 4: 4, 5: 6}


def norm_layers(norm: str, family: str) -> tuple:
    """(norm_cfg, conv_cfg) for 'gnws', 'gn' or 'bn'.

    MobileNetV2 has 16- and 24-channel layers, so its GroupNorm uses 8 groups.
    """
    groups = 8 if family == 'mobilenetv2' else 32
    if norm == 'gnws':
        return dict(type='GN', num_groups=groups, requires_grad=True), dict(type='ConvWS')
    if norm == 'gn':
        return dict(type='GN', num_groups=groups, requires_grad=True), None
    if norm == 'bn':
        return dict(type='BN', requires_grad=True), None
    raise ValueError(f"norm must be 'gnws', 'gn' or 'bn', got {norm!r}")


def _backbone(c: Candidate, norm_cfg, conv_cfg, pretrained: Optional[str]) -> dict:
    info = BACKBONES[c.backbone]
    init = dict(type='Pretrained', checkpoint=pretrained) if pretrained else None
    if info['family'] == 'mobilenetv2':
        out = tuple(_MV2_INDEX[lv] for lv in range(c.neck.in_lo, c.neck.in_hi + 1))
        bb = dict(type='MobileNetV2', widen_factor=1.0, out_indices=out, norm_cfg=norm_cfg,
                  conv_cfg=conv_cfg, act_cfg=dict(type='ReLU6'), norm_eval=False)
        if init:
            bb['init_cfg'] = init
        return bb
    bb = dict(type='ResNet' if info['family'] == 'resnet' else 'ResNeXt', depth=info['depth'],
              frozen_stages=-1, norm_cfg=norm_cfg, conv_cfg=conv_cfg, norm_eval=False,
              style='pytorch', init_cfg=init)
    if info['family'] == 'resnext':
        bb.update(groups=32, base_width=4)
    if c.neck.kind == 'c4':
        # Stages 1-3 in the backbone; stage 4 becomes the shared RoI head.
        bb.update(num_stages=3, strides=(1, 2, 2), dilations=(1, 1, 1), out_indices=(2, ))
    else:
        bb.update(num_stages=4, out_indices=tuple(lv - 2 for lv in range(c.neck.in_lo, c.neck.in_hi + 1)))
    return bb


def _bbox_head(num_classes: int, in_channels: int, stds, fc: int, class_agnostic: bool,
               smooth_l1: bool) -> dict:
    return dict(
        type='Shared2FCBBoxHead', in_channels=in_channels, fc_out_channels=fc, roi_feat_size=7,
        num_classes=num_classes,
        bbox_coder=dict(type='DeltaXYWHBBoxCoder', target_means=[0.0] * 4, target_stds=list(stds)),
        reg_class_agnostic=class_agnostic,
        loss_cls=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0),
        loss_bbox=dict(type='SmoothL1Loss', beta=1.0, loss_weight=1.0) if smooth_l1
        else dict(type='L1Loss', loss_weight=1.0))


def _rcnn_assigner(iou: float) -> dict:
    return dict(type='MaxIoUAssigner', pos_iou_thr=iou, neg_iou_thr=iou, min_pos_iou=iou,
                match_low_quality=False, ignore_iof_thr=-1)


def _rpn_head(c: Candidate, channels: int, strides: List[int]) -> tuple:
    """(rpn_head, train_cfg.rpn, test_cfg.rpn) for 'rpn' or 'ga'."""
    c4 = c.neck.kind == 'c4'
    if c.rpn == 'rpn':
        head = dict(
            type='RPNHead', in_channels=channels, feat_channels=channels,
            anchor_generator=dict(type='AnchorGenerator', scales=[2, 4, 8, 16, 32] if c4 else [8],
                                  ratios=[0.5, 1.0, 2.0], strides=strides),
            bbox_coder=dict(type='DeltaXYWHBBoxCoder', target_means=[0.0] * 4, target_stds=[1.0] * 4),
            loss_cls=dict(type='CrossEntropyLoss', use_sigmoid=True, loss_weight=1.0),
            loss_bbox=dict(type='L1Loss', loss_weight=1.0))
        train = dict(
            assigner=dict(type='MaxIoUAssigner', pos_iou_thr=0.7, neg_iou_thr=0.3, min_pos_iou=0.3,
                          match_low_quality=True, ignore_iof_thr=-1),
            sampler=dict(type='RandomSampler', num=256, pos_fraction=0.5, neg_pos_ub=-1,
                         add_gt_as_proposals=False),
            allowed_border=-1, pos_weight=-1, debug=False)
    else:
        head = dict(
            type='GARPNHead', in_channels=channels, feat_channels=channels,
            approx_anchor_generator=dict(type='AnchorGenerator', octave_base_scale=8,
                                         scales_per_octave=3, ratios=[0.5, 1.0, 2.0], strides=strides),
            square_anchor_generator=dict(type='AnchorGenerator', ratios=[1.0], scales=[8],
                                         strides=strides),
            anchor_coder=dict(type='DeltaXYWHBBoxCoder', target_means=[0.0] * 4,
                              target_stds=[0.07, 0.07, 0.14, 0.14]),
            bbox_coder=dict(type='DeltaXYWHBBoxCoder', target_means=[0.0] * 4,
                            target_stds=[0.07, 0.07, 0.11, 0.11]),
            loc_filter_thr=0.01,
            loss_loc=dict(type='FocalLoss', use_sigmoid=True, gamma=2.0, alpha=0.25, loss_weight=1.0),
            loss_shape=dict(type='BoundedIoULoss', beta=0.2, loss_weight=1.0),
            loss_cls=dict(type='CrossEntropyLoss', use_sigmoid=True, loss_weight=1.0),
            loss_bbox=dict(type='SmoothL1Loss', beta=1.0, loss_weight=1.0))
        train = dict(
            ga_assigner=dict(type='ApproxMaxIoUAssigner', pos_iou_thr=0.7, neg_iou_thr=0.3,
                             min_pos_iou=0.3, ignore_iof_thr=-1),
            ga_sampler=dict(type='RandomSampler', num=256, pos_fraction=0.5, neg_pos_ub=-1,
                            add_gt_as_proposals=False),
            assigner=dict(type='MaxIoUAssigner', pos_iou_thr=0.7, neg_iou_thr=0.3, min_pos_iou=0.3,
                          match_low_quality=True, ignore_iof_thr=-1),
            sampler=dict(type='RandomSampler', num=256, pos_fraction=0.5, neg_pos_ub=-1,
                         add_gt_as_proposals=False),
            allowed_border=-1, center_ratio=0.2, ignore_ratio=0.5, pos_weight=-1, debug=False)
    test = dict(nms_pre=1000, max_per_img=300, nms=dict(type='nms', iou_threshold=0.7), min_bbox_size=0)
    if c.rpn == 'ga':
        test['nms_post'] = 1000  # GA-RPN reads it at test time and for proposals in training
    return head, train, test


def build_model_cfg(c: Candidate, num_classes: int, norm: str = 'gnws', fpn_channels: int = 256,
                    fc_channels: int = 1024, rcnn_samples: int = 128,
                    pretrained: Optional[Dict[str, str]] = None) -> dict:
    """The mmdet ``model`` dict of a candidate.

    Args:
        c: the candidate (assumed valid).
        num_classes: object classes.
        norm: 'gnws' (GroupNorm + Weight Standardization, default), 'gn' or 'bn'.
        fpn_channels: FPN / RPN / RetinaNet channels.
        fc_channels: width of the 2-fc box head.
        rcnn_samples: RoIs sampled per image for the box head in training.
        pretrained: backbone name -> local checkpoint used as its initialisation.

    Returns:
        A plain dict for ``MODELS.build``.
    """
    family = BACKBONES[c.backbone]['family']
    norm_cfg, conv_cfg = norm_layers(norm, family)
    backbone = _backbone(c, norm_cfg, conv_cfg, (pretrained or {}).get(c.backbone))
    model = dict(
        data_preprocessor=dict(type='DetDataPreprocessor', mean=[123.675, 116.28, 103.53],
                               std=[58.395, 57.12, 57.375], bgr_to_rgb=True, pad_size_divisor=32),
        backbone=backbone)
    levels = BACKBONES[c.backbone]['levels']
    if c.neck.kind == 'fpn':
        strides = [2 ** lv for lv in c.neck.out_levels]
        model['neck'] = dict(
            type='FPN', in_channels=[levels[lv] for lv in range(c.neck.in_lo, c.neck.in_hi + 1)],
            out_channels=fpn_channels, num_outs=len(strides), conv_cfg=conv_cfg, norm_cfg=norm_cfg,
            add_extra_convs='on_input' if (not c.two_stage and c.neck.out_hi > c.neck.in_hi) else False)
        feat_channels = fpn_channels
    else:
        strides = [16]
        feat_channels = levels[4]

    if not c.two_stage:  # RetinaNet
        model.update(
            type='RetinaNet',
            bbox_head=dict(
                type='RetinaHead', num_classes=num_classes, in_channels=feat_channels,
                stacked_convs=4, feat_channels=feat_channels, conv_cfg=conv_cfg, norm_cfg=norm_cfg,
                anchor_generator=dict(type='AnchorGenerator', octave_base_scale=4, scales_per_octave=3,
                                      ratios=[0.5, 1.0, 2.0], strides=strides),
                bbox_coder=dict(type='DeltaXYWHBBoxCoder', target_means=[0.0] * 4,
                                target_stds=[1.0] * 4),
                loss_cls=dict(type='FocalLoss', use_sigmoid=True, gamma=2.0, alpha=0.25, loss_weight=1.0),
                loss_bbox=dict(type='L1Loss', loss_weight=1.0)),
            train_cfg=dict(
                assigner=dict(type='MaxIoUAssigner', pos_iou_thr=0.5, neg_iou_thr=0.4, min_pos_iou=0,
                              ignore_iof_thr=-1),
                sampler=dict(type='PseudoSampler'), allowed_border=-1, pos_weight=-1, debug=False),
            test_cfg=dict(nms_pre=1000, min_bbox_size=0, score_thr=0.05,
                          nms=dict(type='nms', iou_threshold=0.5), max_per_img=100))
        return model

    rpn_head, rpn_train, rpn_test = _rpn_head(c, feat_channels, strides)
    model['rpn_head'] = rpn_head
    if c.neck.kind == 'c4':
        info = BACKBONES[c.backbone]
        # mmdet's ResLayer builds plain convolutions (no conv_cfg): GN without WS there.
        shared = dict(type='ResLayer', depth=info['depth'], stage=3, stride=2, dilation=1,
                      style='pytorch', norm_cfg=norm_cfg, norm_eval=False)
        head_in = levels[5]
        roi_extractor = dict(type='SingleRoIExtractor',
                             roi_layer=dict(type='RoIAlign', output_size=14, sampling_ratio=0),
                             out_channels=feat_channels, featmap_strides=[16])
        bbox_head = dict(
            type='BBoxHead', with_avg_pool=True, roi_feat_size=7, in_channels=head_in,
            num_classes=num_classes,
            bbox_coder=dict(type='DeltaXYWHBBoxCoder', target_means=[0.0] * 4,
                            target_stds=[0.1, 0.1, 0.2, 0.2]),
            reg_class_agnostic=False,
            loss_cls=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0),
            loss_bbox=dict(type='L1Loss', loss_weight=1.0))
        roi_head = dict(type='StandardRoIHead', shared_head=shared,
                        bbox_roi_extractor=roi_extractor, bbox_head=bbox_head)
    else:
        # RoIs are pooled from the FPN levels built on backbone inputs (P6+ extras are
        # for the RPN only), mapped by size starting at the finest of them.
        roi_strides = [2 ** lv for lv in range(c.neck.in_lo, c.neck.in_hi + 1)]
        roi_extractor = dict(type='SingleRoIExtractor',
                             roi_layer=dict(type='RoIAlign', output_size=7, sampling_ratio=0),
                             out_channels=feat_channels, featmap_strides=roi_strides,
                             finest_scale=56 * 2 ** max(c.neck.in_lo - 2, 0))
        if c.cascade_stages:
            n = c.cascade_stages
            roi_head = dict(
                type='CascadeRoIHead', num_stages=n, stage_loss_weights=list(_CASCADE_WEIGHTS[:n]),
                bbox_roi_extractor=roi_extractor,
                bbox_head=[_bbox_head(num_classes, feat_channels, _CASCADE_STDS[i], fc_channels,
                                      class_agnostic=True, smooth_l1=True) for i in range(n)])
        else:
            roi_head = dict(type='StandardRoIHead', bbox_roi_extractor=roi_extractor,
                            bbox_head=_bbox_head(num_classes, feat_channels, (0.1, 0.1, 0.2, 0.2),
                                                 fc_channels, class_agnostic=False, smooth_l1=False))
    model['roi_head'] = roi_head
    rcnn_sampler = dict(type='RandomSampler', num=rcnn_samples, pos_fraction=0.25, neg_pos_ub=-1,
                        add_gt_as_proposals=True)
    if c.cascade_stages:
        rcnn_train = [dict(assigner=_rcnn_assigner(_CASCADE_IOU[i]), sampler=copy.deepcopy(rcnn_sampler),
                           pos_weight=-1, debug=False) for i in range(c.cascade_stages)]
    else:
        rcnn_train = dict(assigner=_rcnn_assigner(0.5), sampler=rcnn_sampler, pos_weight=-1, debug=False)
    model.update(
        type='CascadeRCNN' if c.cascade_stages else 'FasterRCNN',
        train_cfg=dict(rpn=rpn_train,
                       rpn_proposal=dict(nms_pre=1000, max_per_img=500,
                                         nms=dict(type='nms', iou_threshold=0.7), min_bbox_size=0,
                                         **({'nms_post': 1000} if c.rpn == 'ga' else {})),
                       rcnn=rcnn_train),
        test_cfg=dict(rpn=rpn_test, rcnn=dict(score_thr=0.05, nms=dict(type='nms', iou_threshold=0.5),
                                              max_per_img=100)))
    return model


def loader_pipeline(cfg: Config, loader: str) -> list:
    """The transforms of ``cfg[loader]``'s dataset, through dataset wrappers (RepeatDataset...)."""
    ds = cfg[loader]['dataset']
    while 'pipeline' not in ds and 'dataset' in ds:
        ds = ds['dataset']
    return ds.get('pipeline', [])


def set_input_size(cfg: Config, size) -> None:
    """Set the ``Resize`` scale of every train/val/test pipeline in ``cfg`` to ``size`` (w, h)."""
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        if not cfg.get(loader):
            continue
        for t in loader_pipeline(cfg, loader):
            if t.get('type') == 'Resize':
                t['scale'] = tuple(size)


def build_config(c: Candidate, space: StructuralSpace, base: Config, num_classes: int,
                 model_options: Optional[dict] = None) -> Config:
    """A complete runnable config for candidate ``c``.

    Args:
        c: the candidate.
        space: its space (for the input scale).
        base: a config with data, schedule and runtime (its ``model`` is replaced).
        num_classes: object classes of the dataset.
        model_options: extra keyword arguments of :func:`build_model_cfg`.

    Returns:
        A new config with ``model`` and input sizes set; ``candidate`` records the
        candidate string and the scaled input.
    """
    cfg = copy.deepcopy(base)
    cfg.model = build_model_cfg(c, num_classes, **(model_options or {}))
    size = space.scaled_input(c)
    set_input_size(cfg, size)
    cfg.candidate = dict(arch=str(c), input_size=list(size))
    # A candidate is scored once, after training (``Runner.test``); validating at the
    # end of training as well would evaluate it twice.
    cfg.val_cfg = None
    cfg.val_dataloader = None
    cfg.val_evaluator = None
    return cfg
