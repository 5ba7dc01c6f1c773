# A short iteration-based schedule sized for 2 CPU cores (minutes, not hours).
# From-scratch GN+WS models tolerate a high learning rate after a warm-up; the
# gradient clip keeps the first iterations of an untrained detector stable.
max_iters = 300
val_interval = 100

train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=val_interval)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')

param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=50),
    dict(type='MultiStepLR', by_epoch=False, begin=0, end=max_iters,
         milestones=[int(max_iters * 0.75), int(max_iters * 0.9)], gamma=0.1),
]

optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.02, momentum=0.9, weight_decay=1e-4),
    clip_grad=dict(max_norm=35, norm_type=2))

# Learning rate above is for the total batch below; mmengine rescales it when
# auto_scale_lr.enable is True and the real batch differs (more GPUs/machines).
auto_scale_lr = dict(enable=False, base_batch_size=4)
