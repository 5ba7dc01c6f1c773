# The whole SM-NAS pipeline on the embedded synthetic dataset (160x120 shapes in colour
# groups, generated on first use), sized for 2 CPU cores: about 20 minutes (measured
# 2026-12-03: benchmarks/README.md, quickstart trials).
#   smnas run configs/pipeline/quickstart_synthetic.py      # rerun to resume
# Each stage's own config holds its settings; the options below shorten them.
pipeline = dict(
    # 1. structural search by successive halving (search.fidelity): every candidate for 50
    #    iterations, the best one (NSGA-II's order on mAP and latency) for 450, over the
    #    structures the modular stage can refine (R18; three FPN necks; RPN + Faster R-CNN;
    #    the paper's two largest inputs scaled by 0.15, which maps 1333x800 onto the 160x120
    #    images instead of upscaling them). Few long trainings beat many short ones here: 40
    #    iterations left every candidate below 0.1 mAP, 450 reach about 0.4. Left out of the
    #    quickstart, measured: RetinaNet learns faster in the first tens of iterations, so
    #    halving promoted it, yet it stayed below 0.08 mAP after 300; Cascade R-CNN made the
    #    run 32 minutes; 800x600 and 512x512 inputs (120x90, 77x77 here) left the finalists
    #    below 0.2. The structural config alone (tools/search_structure.py) searches all of
    #    them, and MobileNetV2, C4 and Guided-Anchor RPN, which the modular stage refines too.
    structural=dict(config='../structural/quickstart_synthetic.py',
                    cfg_options={'search_space.backbones': ['r18'], 'search_space.input_scale': 0.15,
                                 'search_space.necks': ['fpn-p2p5-p6', 'fpn-p3p5-p6', 'fpn-p3p5-p5'],
                                 'search_space.rpns': ['rpn'], 'search_space.heads': ['rcnn'],
                                 'search_space.input_sizes': [(1333, 800), (1080, 720)],
                                 'search.n_trials': 2,
                                 'search.fidelity': dict(kind='halving', eta=9, rungs=2, repeats=0),
                                 'train_cfg.max_iters': 450, 'param_scheduler.1.end': 450,
                                 'param_scheduler.1.milestones': [338, 405],
                                 'default_hooks.checkpoint.interval': 150}),
    # Set a structure string here to skip the structural search.
    structure=None,
    # 2. supernet around the chosen structure: 300 steps of 3 fair random subnets, with the paper's three head
    #    widths: on this data the head's width is what training from scratch tells apart
    #    (the rank-fidelity truth: 128-wide heads 0.36-0.40 mAP, 512-wide 0.41-0.45).
    supernet=dict(config='../supernet/quickstart_synthetic.py',
                  cfg_options={'model.space.head_channels': [128, 256, 512]}),
    # 3. subnet search with inherited weights; the two ends of the front up to 3.5 GFLOPs
    #    become the finalists (E0 is the cheapest), so that their retraining fits the budget.
    subnet_search=dict(cfg_options={'subnet_search.n_trials': 20, 'subnet_search.population_size': 8},
                       flops_range=[0, 3.5], finalists=2),
    # 4. finalists retrained from scratch with the supernet's schedule (300 iterations at
    #    batch 4; no validation during training; scored once on the val split at the end).
    #    At batch 2 the larger finalist had seen too few images and scored below the smaller.
    retrain=dict(cfg_options={'train_dataloader.batch_size': 4}, iters=300, timeout=1800),
)
