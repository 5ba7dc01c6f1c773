# Paper-scale structural search on COCO with GPUs: the full space (7 backbones, C4 and
# every FPN level choice, none/RPN/GA-RPN, R-CNN/RetinaNet/Cascade 2-4, four input sizes).
# Each candidate trains from scratch (GN+WS) on one GPU with a short proxy schedule;
# run one command per GPU machine against a shared database and work dir:
#   python tools/search_structure.py configs/structural/coco_paper.py \
#       --work-dir /shared/smnas/structural --storage postgresql://USER@HOST/smnas --workers 8
_base_ = [
    '../_base_/datasets/coco.py',
    '../_base_/schedules/cpu_short.py',
    '../_base_/default_runtime.py',
]

search_space = dict(input_scale=1.0)  # everything else: the whole space
search = dict(
    n_trials=500,
    population_size=50,
    seed=0,
    trial_timeout=48 * 3600,
    model_options=dict(fpn_channels=256, fc_channels=1024, rcnn_samples=512))
measure = dict(warmup=10, repeats=50)

# About 2 epochs of COCO at batch 16 (8 GPUs x 2 would be 16; one GPU per candidate
# here runs batch 2 with the learning rate scaled by auto_scale_lr).
max_iters = 120000
train_cfg = dict(max_iters=max_iters, val_interval=max_iters + 1)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=1000),
    dict(type='MultiStepLR', by_epoch=False, begin=0, end=max_iters,
         milestones=[80000, 106000], gamma=0.1),
]
optim_wrapper = dict(optimizer=dict(lr=0.02))
auto_scale_lr = dict(enable=True, base_batch_size=16)
default_hooks = dict(checkpoint=dict(interval=5000, max_keep_ckpts=1),
                     visualization=dict(type='DetVisualizationHook', draw=False))
