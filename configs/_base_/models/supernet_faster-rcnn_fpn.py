# A Faster R-CNN supernet over the modular space: searchable ResNet (deep stem, GN+WS,
# elastic depth, per-block widths), FPN, RPN and 2-fc box head at the space's maximum
# widths, trained with the sandwich rule (SandwichSupernet).
# Max widths for the space below: stages 72/144/288/576, neck 512, head 512.
space = dict(bases=[48, 56, 64, 72], max_depths=[3, 4, 6, 3], neck_channels=[128, 256, 512],
             head_channels=[128, 256, 512], doublings=[0, 1, 1, 1])

model = dict(
    type='SandwichSupernet',
    space=space,
    num_random_subnets=2,
    distill=False,
    distill_weight=1.0,
    seed=0,
    architecture=dict(
        type='FasterRCNN',
        data_preprocessor=dict(type='DetDataPreprocessor', mean=[123.675, 116.28, 103.53],
                               std=[58.395, 57.12, 57.375], bgr_to_rgb=True, pad_size_divisor=32),
        backbone=dict(type='SearchableResNet', space=space),
        neck=dict(type='SearchableFPN', in_channels=[72, 144, 288, 576], out_channels=512, num_outs=5),
        rpn_head=dict(
            type='SearchableRPNHead', in_channels=512, feat_channels=512,
            anchor_generator=dict(type='AnchorGenerator', scales=[8], ratios=[0.5, 1.0, 2.0],
                                  strides=[4, 8, 16, 32, 64]),
            bbox_coder=dict(type='DeltaXYWHBBoxCoder', target_means=[0.0] * 4, target_stds=[1.0] * 4),
            loss_cls=dict(type='CrossEntropyLoss', use_sigmoid=True, loss_weight=1.0),
            loss_bbox=dict(type='L1Loss', loss_weight=1.0)),
        roi_head=dict(
            type='StandardRoIHead',
            bbox_roi_extractor=dict(type='SearchableRoIExtractor',
                                    roi_layer=dict(type='RoIAlign', output_size=7, sampling_ratio=0),
                                    out_channels=512, featmap_strides=[4, 8, 16, 32]),
            bbox_head=dict(
                type='SearchableShared2FCBBoxHead', in_channels=512, fc_out_channels=512,
                roi_feat_size=7, num_classes=80,
                bbox_coder=dict(type='DeltaXYWHBBoxCoder', target_means=[0.0] * 4,
                                target_stds=[0.1, 0.1, 0.2, 0.2]),
                reg_class_agnostic=False,
                loss_cls=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0),
                loss_bbox=dict(type='L1Loss', loss_weight=1.0))),
        train_cfg=dict(
            rpn=dict(
                assigner=dict(type='MaxIoUAssigner', pos_iou_thr=0.7, neg_iou_thr=0.3, min_pos_iou=0.3,
                              match_low_quality=True, ignore_iof_thr=-1),
                sampler=dict(type='RandomSampler', num=256, pos_fraction=0.5, neg_pos_ub=-1,
                             add_gt_as_proposals=False),
                allowed_border=-1, pos_weight=-1, debug=False),
            rpn_proposal=dict(nms_pre=1000, max_per_img=500, nms=dict(type='nms', iou_threshold=0.7),
                              min_bbox_size=0),
            rcnn=dict(
                assigner=dict(type='MaxIoUAssigner', pos_iou_thr=0.5, neg_iou_thr=0.5, min_pos_iou=0.5,
                              match_low_quality=False, ignore_iof_thr=-1),
                sampler=dict(type='RandomSampler', num=128, pos_fraction=0.25, neg_pos_ub=-1,
                             add_gt_as_proposals=True),
                pos_weight=-1, debug=False)),
        test_cfg=dict(
            rpn=dict(nms_pre=1000, max_per_img=300, nms=dict(type='nms', iou_threshold=0.7),
                     min_bbox_size=0),
            rcnn=dict(score_thr=0.05, nms=dict(type='nms', iou_threshold=0.5), max_per_img=100))))

# Runnable supernet configs also set (val_cfg is a schedule key, so it is set there):
#   val_cfg = dict(type='SubnetsValLoop', subnets=['max', 'min'])
custom_hooks = [dict(type='SupernetMetaHook')]
