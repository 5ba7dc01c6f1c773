# The whole SM-NAS pipeline on the embedded synthetic dataset (160x120 shapes,
# generated on first use), sized for 2 CPU cores: about 28 minutes (27.9 measured 2026-12-03).
#   smnas run configs/pipeline/quickstart_synthetic.py      # rerun to resume
# Each stage's own config holds its settings; the options below shorten them.
pipeline = dict(
    # 1. structural search: 6 candidates of 40 iterations each, over the structures the
    #    modular stage can refine (R18; FPN necks; RetinaNet, or an RPN with Faster or
    #    Cascade R-CNN; the paper's 4 inputs scaled by 0.15, which maps 1333x800 onto the
    #    160x120 images instead of upscaling them: at 0.2 the chosen 1333x800 structure made
    #    the supernet 2x slower and the run longer than 30 minutes). The structural config alone
    #    (tools/search_structure.py) also searches MobileNetV2, C4 and Guided-Anchor RPN, which
    #    the modular stage refines as well; the quickstart's 30-minute budget was measured with
    #    these R18 FPN structures only.
    structural=dict(config='../structural/quickstart_synthetic.py',
                    cfg_options={'search_space.backbones': ['r18'], 'search_space.input_scale': 0.15,
                                 'search_space.necks': ['fpn-p2p5-p6', 'fpn-p3p5-p6', 'fpn-p3p5-p5'],
                                 'search_space.rpns': ['none', 'rpn'],
                                 'search.n_trials': 6, 'search.population_size': 4,
                                 'train_cfg.max_iters': 40, 'param_scheduler.1.end': 40,
                                 'param_scheduler.1.milestones': [30, 36],
                                 'default_hooks.checkpoint.interval': 20}),
    # Set a structure string here to skip the structural search.
    structure=None,
    # 2. supernet around the chosen structure: 300 sandwich steps.
    supernet=dict(config='../supernet/quickstart_synthetic.py', cfg_options={}),
    # 3. subnet search with inherited weights (FLOPs range in GFLOPs, None: all).
    subnet_search=dict(cfg_options={'subnet_search.n_trials': 20, 'subnet_search.population_size': 8},
                       flops_range=None, finalists=3),
    # 4. finalists retrained from scratch with the supernet's schedule stretched to 600
    #    iterations (no validation during training; scored once on the val split at the
    #    end): 300 leave them at about 0.2 mAP (benchmarks/README.md, learning speed).
    retrain=dict(cfg_options={}, iters=600, timeout=1800),
)
