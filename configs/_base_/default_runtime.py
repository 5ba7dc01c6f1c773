# Runtime shared by every smnas config: our modules, logging, checkpoints, TensorBoard.
default_scope = 'mmdet'
# Importing smnas registers CocoJsonDataset and the CPU fallback of mmcv's masked
# convolution (Guided-Anchor RPN); mmdet's own tools work given this line alone.
custom_imports = dict(imports=['smnas.register'], allow_failed_imports=False)

default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=10),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=100, max_keep_ckpts=2,
                    save_last=True),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    visualization=dict(type='DetVisualizationHook'))

env_cfg = dict(
    cudnn_benchmark=False,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    dist_cfg=dict(backend='nccl'))

# Scalars (losses, learning rate, val mAP) go to TensorBoard: tensorboard --logdir <work_dir>
vis_backends = [dict(type='LocalVisBackend'), dict(type='TensorboardVisBackend')]
visualizer = dict(type='DetLocalVisualizer', vis_backends=vis_backends, name='visualizer')
log_processor = dict(type='LogProcessor', window_size=10, by_epoch=False)

log_level = 'INFO'
load_from = None
resume = False
randomness = dict(seed=0)
