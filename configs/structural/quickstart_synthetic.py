# Structural search quickstart: a reduced space on the embedded synthetic dataset
# (160x120, generated on first use), sized for 2 CPU cores.
#   python tools/search_structure.py configs/structural/quickstart_synthetic.py
_base_ = [
    '../_base_/datasets/synthetic_small.py',
    '../_base_/schedules/cpu_short.py',
    '../_base_/default_runtime.py',
]

# Two light backbones, four necks, three RPN choices, three heads, the paper's four
# input sizes at a fifth of their side (512x512 -> 102x102 ... 1333x800 -> 267x160).
search_space = dict(
    backbones=['r18', 'mv2'],
    necks=['c4', 'fpn-p2p5-p6', 'fpn-p3p5-p6', 'fpn-p3p5-p5'],
    rpns=['none', 'rpn', 'ga'],
    heads=['rcnn', 'retina', 'cascade2'],
    input_sizes=[(512, 512), (800, 600), (1080, 720), (1333, 800)],
    input_scale=0.2)

search = dict(
    n_trials=10,
    population_size=6,
    seed=0,
    # A net against a hung trial, not a budget: the top rung (450 iterations) takes about 8
    # minutes alone on 2 cores and was killed at 900 s beside two other trainings
    # (2026-12-05): 4x the time alone lets a busy machine finish it.
    trial_timeout=1800,
    # Narrow heads keep each CPU trial around a minute; the structure is what is compared.
    model_options=dict(fpn_channels=64, fc_channels=256, rcnn_samples=64))
measure = dict(warmup=2, repeats=5)

# A very short schedule per candidate: 60 iterations, no validation during training
# (each trial is evaluated once at its end).
max_iters = 60
train_cfg = dict(max_iters=max_iters, val_interval=max_iters + 1)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=10),
    dict(type='MultiStepLR', by_epoch=False, begin=0, end=max_iters, milestones=[45, 54], gamma=0.1),
]
default_hooks = dict(checkpoint=dict(interval=30, max_keep_ckpts=1),
                     visualization=dict(type='DetVisualizationHook', draw=False))
train_dataloader = dict(batch_size=4, num_workers=1, persistent_workers=False)
val_dataloader = dict(num_workers=0, persistent_workers=False)
test_dataloader = val_dataloader
