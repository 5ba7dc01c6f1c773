# Supernet of the rank-fidelity benchmark (benchmarks/bench_rank_fidelity.py): the
# harder synthetic set (6 classes, many small objects, 1000 val images) at 160x120, and a
# space wider than the quickstart's so that subnets differ beyond training noise: four
# bases, up to 2-2-3-2 blocks, neck and head 128/256/512.
#   python tools/train_supernet.py configs/supernet/rank_synthetic.py
_base_ = [
    '../_base_/models/supernet.py',
    '../_base_/datasets/synthetic_rank.py',
    '../_base_/schedules/cpu_short.py',
    '../_base_/default_runtime.py',
]
custom_imports = dict(imports=['smnas.register'], allow_failed_imports=False)

space = dict(bases=[48, 56, 64, 72], max_depths=[2, 2, 3, 2], neck_channels=[128, 256, 512],
             head_channels=[128, 256, 512], doublings=[0, 1, 1, 1])
model = dict(
    space=space,
    num_random_subnets=2,  # 3 members per step: the max one (the teacher) and 2 fair random ones
    architecture=dict(
        structure='r18_fpn-p2p5-p6_rpn_rcnn_160x120', num_classes=6,
        overrides=dict(test_cfg=dict(rcnn=dict(score_thr=0.001)))))

max_iters = 1500
train_cfg = dict(max_iters=max_iters, val_interval=500)
val_cfg = dict(type='SubnetsValLoop', subnets=['max', 'min'])
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=100),
    dict(type='MultiStepLR', by_epoch=False, begin=0, end=max_iters, milestones=[1125, 1350], gamma=0.1),
]
default_hooks = dict(checkpoint=dict(interval=250, max_keep_ckpts=2), logger=dict(interval=50))
subnet_search = dict(n_trials=300, population_size=30, seed=0)
