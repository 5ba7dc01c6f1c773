# Supernet on BCCD (blood cells, 3 classes) at 320x240, sized for 2 CPU cores: a
# reduced space (three bases, at most 2 blocks per stage, neck and head 128/256),
# batch 4, 600 steps of 3 fair random subnets each (the configs' recipe).
# BCCD is converted from ../shared/data/bccd on first use (or run
# python tools/convert_dataset.py ../shared/data/bccd --out data/bccd).
#   python tools/train_supernet.py configs/supernet/bccd.py
_base_ = [
    '../_base_/models/supernet.py',
    '../_base_/datasets/bccd.py',
    '../_base_/schedules/cpu_short.py',
    '../_base_/default_runtime.py',
]
custom_imports = dict(imports=['smnas.register'], allow_failed_imports=False)
prepare_data = dict(type='convert', src='../shared/data/bccd', out='data/bccd')

space = dict(bases=[48, 56, 64], max_depths=[2, 2, 2, 2], neck_channels=[128, 256],
             head_channels=[128, 256], doublings=[0, 1, 1, 1])
model = dict(
    space=space,
    num_random_subnets=2,  # 3 members per step: the max one (the teacher) and 2 fair random ones
    architecture=dict(structure='r18_fpn-p2p5-p6_rpn_rcnn_320x240', num_classes=3,
                      overrides=dict(test_cfg=dict(rcnn=dict(score_thr=0.001)))))

max_iters = 600
train_cfg = dict(max_iters=max_iters, val_interval=200)
val_cfg = dict(type='SubnetsValLoop', subnets=['max', 'min'])
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=50),
    dict(type='MultiStepLR', by_epoch=False, begin=0, end=max_iters, milestones=[450, 540], gamma=0.1),
]
default_hooks = dict(checkpoint=dict(interval=100, max_keep_ckpts=2))
