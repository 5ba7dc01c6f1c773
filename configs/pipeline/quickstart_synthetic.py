# The whole SM-NAS pipeline on the embedded synthetic dataset (160x120 shapes,
# generated on first use), sized for 2 CPU cores: about 28 minutes (27.9 measured 2026-12-03).
#   smnas run configs/pipeline/quickstart_synthetic.py      # rerun to resume
# Each stage's own config holds its settings; the options below shorten them.
pipeline = dict(
    # 1. structural search by successive halving (search.fidelity): 9 candidates for 50
    #    iterations, the best one (NSGA-II's order on mAP and latency) for 450, at the budget
    #    of 2 full trainings, over the structures the modular stage can refine (R18; FPN
    #    necks; an RPN with Faster or Cascade R-CNN; the paper's 4 inputs scaled by 0.15,
    #    which maps 1333x800 onto the 160x120 images instead of upscaling them: at 0.2 the
    #    chosen 1333x800 structure made the supernet 2x slower and the run longer than 30
    #    minutes). RetinaNet is left out here: on this data it learns faster in the first tens
    #    of iterations, so halving promoted it, yet its supernet and finalists stayed below
    #    0.08 mAP where two-stage ones reach about 0.4 (benchmarks/README.md, quickstart).
    #    The structural config alone (tools/search_structure.py) also searches RetinaNet,
    #    MobileNetV2, C4 and Guided-Anchor RPN, which the modular stage refines as well; the
    #    quickstart's 30-minute budget was measured with these R18 FPN structures only.
    structural=dict(config='../structural/quickstart_synthetic.py',
                    cfg_options={'search_space.backbones': ['r18'], 'search_space.input_scale': 0.15,
                                 'search_space.necks': ['fpn-p2p5-p6', 'fpn-p3p5-p6', 'fpn-p3p5-p5'],
                                 'search_space.rpns': ['rpn'], 'search_space.heads': ['rcnn'],
                                 'search_space.input_sizes': [(1333, 800), (1080, 720)],
                                 'search.n_trials': 2,
                                 'search.fidelity': dict(kind='halving', eta=6, rungs=2, repeats=0),
                                 'train_cfg.max_iters': 300, 'param_scheduler.1.end': 300,
                                 'param_scheduler.1.milestones': [225, 270],
                                 'default_hooks.checkpoint.interval': 100}),
    # Set a structure string here to skip the structural search.
    structure=None,
    # 2. supernet around the chosen structure: 300 sandwich steps.
    supernet=dict(config='../supernet/quickstart_synthetic.py',
                  cfg_options={'model.space.head_channels': [128, 256, 512]}),
    # 3. subnet search with inherited weights (FLOPs range in GFLOPs, None: all).
    subnet_search=dict(cfg_options={'subnet_search.n_trials': 20, 'subnet_search.population_size': 8},
                       flops_range=[0, 3.5], finalists=2),
    # 4. finalists retrained from scratch with the supernet's schedule (300 iterations; no
    #    validation during training; scored once on the val split at the end).
    retrain=dict(cfg_options={'train_dataloader.batch_size': 4}, iters=300, timeout=1800),
)
