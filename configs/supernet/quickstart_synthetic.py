# Supernet quickstart on the synthetic dataset, sized for 2 CPU cores: a reduced
# space, 192x144 inputs, batch 2, a short schedule.
#   python tools/make_synthetic.py --out data/synthetic
#   python tools/train_supernet.py configs/supernet/quickstart_synthetic.py
_base_ = [
    '../_base_/models/supernet.py',
    '../_base_/datasets/synthetic.py',
    '../_base_/schedules/cpu_short.py',
    '../_base_/default_runtime.py',
]
custom_imports = dict(imports=['smnas', 'supernet'], allow_failed_imports=False)

# A reduced space for the CPU: two bases, at most 2 blocks per stage, neck and head
# widths 128/256 (max widths: stages 64/128/256/512, neck 256, head 256).
space = dict(bases=[48, 64], max_depths=[2, 2, 2, 2], neck_channels=[128, 256],
             head_channels=[128, 256], doublings=[0, 1, 1, 1])
model = dict(
    space=space,
    architecture=dict(
        structure='r18_fpn-p2p5-p6_rpn_rcnn_192x144', num_classes=5,
        # Keep low-confidence detections for AP, as mmdet's GA-RPN configs do: early
        # in a short schedule most scores are still below the usual 0.05.
        overrides=dict(test_cfg=dict(rcnn=dict(score_thr=0.001)))))

img_scale = (192, 144)
train_dataloader = dict(batch_size=2, dataset=dict(pipeline=[
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='Resize', scale=img_scale, keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs'),
]))
val_dataloader = dict(dataset=dict(pipeline=[
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=img_scale, keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='PackDetInputs', meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                                          'scale_factor')),
]))
test_dataloader = val_dataloader

max_iters = 400
train_cfg = dict(max_iters=max_iters, val_interval=200)
# Validate the max and the min subnet with inherited weights (metrics max/..., min/...).
val_cfg = dict(type='SubnetsValLoop', subnets=['max', 'min'])
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=30),
    dict(type='MultiStepLR', by_epoch=False, begin=0, end=max_iters, milestones=[300, 360], gamma=0.1),
]
default_hooks = dict(checkpoint=dict(interval=100, max_keep_ckpts=2))
