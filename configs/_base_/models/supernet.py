# A weight-sharing supernet over the modular space (SM-NAS's modular stage), trained
# with several subnets per step. The detector is built around a structure of the structural
# stage (its FPN levels, RPN and head; the backbone becomes the searchable ResNet):
# set architecture.structure, num_classes and, if needed, overrides of the full
# model config (see supernet.build.expand_architecture). Supported heads: Faster
# R-CNN (rcnn), Cascade R-CNN (cascade2-4) and RetinaNet (retina), with an RPN or none.
# The block family and, unless max_depths is set, the depths follow the structure's
# backbone (smnas.modular.structure.with_structure_space): R18 2-2-2-2 and R34 3-4-6-3
# basic blocks, R50 3-4-6-3 and R101 3-4-23-3 bottlenecks, X50/X101 grouped bottlenecks.
space = dict(bases=[48, 56, 64, 72], neck_channels=[128, 256, 512],
             head_channels=[128, 256, 512], doublings=[0, 1, 1, 1])

# The training recipe: the max member and 3 fair random members per step, the random ones
# distilled in place from the max member's outputs (its RPN's or RetinaNet head's
# classification as soft targets and box regression, and the RoI head's on its sampled RoIs).
# On the 24-subnet rank benchmark (benchmarks/README.md, "Every recipe against the 7-seed
# truth") it ranked subnets as training from scratch does best of every one-shot recipe
# measured, by the inherited mAP (subnet_search.score's default): Kendall tau 0.73 [95% 0.58,
# 0.85], 188 of the 195 pairs the truth resolves, the min subnet 3 places from its
# from-scratch rank (within that rank's noise); the sandwich rule (max, min and random
# members), training the min subnet at every step, lifted it 20 places. No min member;
# ['max', 'min'] with sampling='uniform' and distill=False restores the sandwich rule;
# extremes=[] with distill=False the 3-fair-members recipe before it.
model = dict(
    type='SandwichSupernet',
    space=space,
    num_random_subnets=3,
    extremes=['max'],  # the members trained at every step besides the random ones: 'max', 'min'
    sampling='fair',  # every choice of every dimension equally often; or 'uniform'
    average_members=True,  # mean of the members' losses (the sum overtrains shared weights);
    # 'per_weight': each weight's gradient is the mean over the members that used it
    # in-place distillation from the max member (its teacher): 'outputs', 'features', 'both', False
    distill='outputs',
    distill_weight=1.0,
    # dimensions of the max member drawn fairly at every step instead of at their widest,
    # e.g. ['neck']: a teacher that does not train the widest neck at every step
    max_sampled=[],
    seed=0,
    architecture=dict(type='StructureSupernet', structure='r18_fpn-p2p5-p6_rpn_rcnn_800x600',
                      num_classes=80, overrides=dict()))

# The same command trains on one process, with torchrun on CPUs (gloo) or GPUs: the
# training step runs several forward/backward passes per step, so the supernet has
# its own data-parallel wrapper instead of PyTorch's DDP.
model_wrapper_cfg = dict(type='SandwichDistributed')
# Runnable supernet configs also set (val_cfg is a schedule key, so it is set there):
#   val_cfg = dict(type='SubnetsValLoop', subnets=['max', 'min'])
custom_hooks = [dict(type='SupernetMetaHook')]
