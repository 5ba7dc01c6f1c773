# Supernet quickstart on the embedded synthetic dataset, sized for 2 CPU cores: a
# reduced space, 160x120 inputs, batch 2, max + min + 1 random subnet per step, 300
# iterations (about 8 minutes here). The dataset is generated on first use.
#   python tools/train_supernet.py configs/supernet/quickstart_synthetic.py
_base_ = [
    '../_base_/models/supernet.py',
    '../_base_/datasets/synthetic_small.py',
    '../_base_/schedules/cpu_short.py',
    '../_base_/default_runtime.py',
]
custom_imports = dict(imports=['smnas.register'], allow_failed_imports=False)

# A reduced space for the CPU: two bases, at most 2 blocks per stage, neck and head
# widths 128/256 (max widths: stages 64/128/256/512, neck 256, head 256).
space = dict(bases=[48, 64], max_depths=[2, 2, 2, 2], neck_channels=[128, 256],
             head_channels=[128, 256], doublings=[0, 1, 1, 1])
model = dict(
    space=space,
    num_random_subnets=2,  # 3 members per step: the max one (the teacher) and 2 fair random ones
    architecture=dict(
        structure='r18_fpn-p2p5-p6_rpn_rcnn_160x120', num_classes={{_base_.num_classes}},
        # Keep low-confidence detections for AP, as mmdet's GA-RPN configs do: early
        # in a short schedule most scores are still below the usual 0.05.
        overrides=dict(test_cfg=dict(rcnn=dict(score_thr=0.001)))))

train_dataloader = dict(batch_size=2)
max_iters = 300
train_cfg = dict(max_iters=max_iters, val_interval=150)
# Validate the max and the min subnet with inherited weights (metrics max/..., min/...).
val_cfg = dict(type='SubnetsValLoop', subnets=['max', 'min'])
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=30),
    dict(type='MultiStepLR', by_epoch=False, begin=0, end=max_iters, milestones=[225, 270], gamma=0.1),
]
default_hooks = dict(checkpoint=dict(interval=50, max_keep_ckpts=2), logger=dict(interval=25))

# Subnet search over this supernet (tools/search_subnet.py): FLOPs at the val input size.
subnet_search = dict(n_trials=24, population_size=8, seed=0)
