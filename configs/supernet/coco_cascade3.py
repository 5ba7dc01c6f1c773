# COCO-scale supernet for GPUs: the paper's modular space (bases 48-72, up to 3-4-6-3
# bottleneck blocks as R50's, neck and head 128/256/512) around an R50 Cascade R-CNN at 800x600,
# GN + WS from scratch. One command per machine (the same on CPUs with gloo):
#   torchrun --standalone --nproc_per_node=8 tools/train_supernet.py configs/supernet/coco_cascade3.py \
#       --launcher pytorch --work-dir /shared/smnas/supernet
# Several machines: --nnodes/--node_rank/--master_addr (instead of --standalone) as for any torchrun job.
_base_ = [
    '../_base_/models/supernet.py',
    '../_base_/datasets/coco.py',
    '../_base_/schedules/cpu_short.py',
    '../_base_/default_runtime.py',
]
custom_imports = dict(imports=['smnas.register'], allow_failed_imports=False)

model = dict(
    # R50's own blocks, set here so that the file builds as it is (tools also derive it
    # from the structure): bottlenecks, stage outputs 4x the digits' widths (256-2048)
    space=dict(block='bottleneck'),
    architecture=dict(structure='r50_fpn-p2p5-p6_rpn_cascade3_800x600', num_classes=80,
                      rcnn_samples=512))

img_scale = (800, 600)
train_dataloader = dict(batch_size=2, num_workers=4,
                        dataset=dict(pipeline=[
                            dict(type='LoadImageFromFile'),
                            dict(type='LoadAnnotations', with_bbox=True),
                            dict(type='Resize', scale=img_scale, keep_ratio=True),
                            dict(type='RandomFlip', prob=0.5),
                            dict(type='PackDetInputs'),
                        ]))
val_dataloader = dict(num_workers=4, dataset=dict(pipeline=[
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=img_scale, keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='PackDetInputs', meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                                          'scale_factor')),
]))
test_dataloader = val_dataloader

# About 24 epochs of COCO at a total batch of 16 (8 GPUs x 2): from-scratch GN+WS
# training needs the longer schedule; the lr is rescaled to the real total batch.
max_iters = 180000
train_cfg = dict(max_iters=max_iters, val_interval=20000)
val_cfg = dict(type='SubnetsValLoop', subnets=['max', 'min'])
param_scheduler = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=2000),
    dict(type='MultiStepLR', by_epoch=False, begin=0, end=max_iters, milestones=[120000, 160000],
         gamma=0.1),
]
optim_wrapper = dict(optimizer=dict(lr=0.02))
auto_scale_lr = dict(enable=True, base_batch_size=16)
default_hooks = dict(checkpoint=dict(interval=5000, max_keep_ckpts=2))
