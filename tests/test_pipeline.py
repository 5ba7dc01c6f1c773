"""The whole pipeline end to end on tiny data (every stage for real, tiny settings),
its resume, and the choice of the structure to refine."""
import json

import pytest
from mmengine.config import Config

from smnas.data.synthetic import SyntheticConfig, generate
from smnas.pipeline import Pipeline, PipelineError, choose_structure
from smnas.testing import config_path


def _data_options(root, iters):
    r = f'{root}/'
    opts = {'prepare_data': None, 'train_cfg.max_iters': iters, 'train_cfg.val_interval': iters,
            'default_hooks.checkpoint.interval': iters, 'default_hooks.logger.interval': 1,
            'train_dataloader.batch_size': 2, 'param_scheduler': []}
    for split in ('train', 'val', 'test'):
        opts.update({f'{split}_dataloader.dataset.data_root': r, f'{split}_dataloader.num_workers': 0,
                     f'{split}_dataloader.persistent_workers': False})
    for split in ('val', 'test'):
        opts[f'{split}_evaluator.ann_file'] = r + 'annotations/instances_val.json'
    return opts


@pytest.fixture()
def pipeline_cfg(tmp_path):
    root = tmp_path / 'data'
    generate(SyntheticConfig(image_size=(96, 64), num_train=6, num_val=3, seed=2), root)
    structural = dict(_data_options(root, 2), **{
        'search_space.backbones': ['r18'], 'search_space.necks': ['fpn-p3p5-p6'],
        'search_space.rpns': ['rpn', 'ga'], 'search_space.heads': ['rcnn'],
        'search_space.input_sizes': [(512, 512)], 'search_space.input_scale': 0.125,
        'search.n_trials': 2, 'search.population_size': 2, 'search.num_classes': 5,
        'search.model_options': dict(fpn_channels=32, fc_channels=32, rcnn_samples=16),
        'measure': dict(warmup=1, repeats=1)})
    supernet = dict(_data_options(root, 2), **{
        'model.space.bases': [16, 24], 'model.space.max_depths': [1, 1, 2, 1],
        'model.space.neck_channels': [16, 32], 'model.space.head_channels': [16, 32],
        'model.num_random_subnets': 2, 'model.architecture.num_classes': 5})
    supernet['val_dataloader.dataset.pipeline.1.scale'] = (96, 64)
    supernet['train_dataloader.dataset.pipeline.2.scale'] = (96, 64)
    cfg = Config(dict(pipeline=dict(
        structural=dict(config=str(config_path('structural/quickstart_synthetic.py')),
                        cfg_options=structural),
        supernet=dict(config=str(config_path('supernet/quickstart_synthetic.py')),
                      cfg_options=supernet),
        subnet_search=dict(cfg_options={'subnet_search.n_trials': 3, 'subnet_search.population_size': 2},
                           finalists=2),
        retrain=dict(cfg_options={}))))
    cfg.filename = str(tmp_path / 'pipeline.py')
    return cfg


def test_pipeline_runs_every_stage_and_a_rerun_redoes_nothing(pipeline_cfg, tmp_path, capsys):
    work = tmp_path / 'work'
    report = Pipeline(pipeline_cfg, str(work)).run()
    state = json.loads((work / 'pipeline.json').read_text())
    assert set(state['stages']) == {'structural', 'supernet', 'subnet_search', 'retrain'}
    structure = state['stages']['structural']['structure']
    # the supernet is built around the chosen structure itself (plain or Guided-Anchor RPN),
    # and trains at its input (512x512 x input_scale 0.125), not its config's 96x64
    supernet_cfg = Config.fromfile(str(work / 'supernet' / 'config.py'))
    assert supernet_cfg.model.architecture.structure == structure
    assert state['stages']['supernet']['input_size'] == [64, 64]
    from smnas.search.subnet import val_input_size
    assert val_input_size(supernet_cfg) == (64, 64)
    text = report.read_text()
    assert 'at 64x64' in text and 'basic blocks' in text
    assert f'`{structure}`' in text and '| E0 |' in text
    records = json.loads((work / 'search' / 'finalists' / 'finalists.json').read_text())
    assert records and all(r['mAP_retrained'] is not None for r in records)
    # every retrained mAP carries its noise, and the report says which differences it resolves
    assert all(len(r['mAP_ci95_retrained']) == 2 and r['detections'] for r in records)
    assert len(records) < 2 or 'paired bootstrap over the val images' in text
    # a quiet console: progress lines, no mmengine config dump or COCO tables (they are in the logs)
    out = capsys.readouterr().out
    assert '[pipeline] 2/4 supernet: iteration 2/2, stage ETA' in out
    # the whole run's ETA: unknown in the first structural trial, then priced
    assert 'pipeline ETA: after the structural stage' in out
    assert '[pipeline] 3/4 subnet search' in out and 'min left)' in out.split('2/4 supernet training')[1]
    # the finalists are deployable: exported to ONNX, checked against PyTorch and timed
    assert all(r['onnx'] and r['onnx_latency_ms'] for r in records)
    for r in records:
        assert r['onnx_error'] is None and r['onnx_check']['match_rate'] == 1.0
        assert (work / 'search' / 'finalists' / r['name'] / 'onnx' / 'model.onnx').is_file()
    assert 'ONNX / PyTorch graph (ms)' in text
    for noise in ('Average Precision', 'Config:', 'loading annotations', 'Iter(train)'):
        assert noise not in out, noise
    assert 'Iter(train)' in (work / 'supernet' / 'train.log').read_text()
    # the search's scoring output goes to its log (its lean COCO metric prints no table)
    assert (work / 'search' / 'eval' / 'console.log').is_file()
    assert 'Average Precision' in (work / 'search' / 'finalists' / 'E0' / 'retrain' / 'trial.log').read_text()

    Pipeline(pipeline_cfg, str(work)).run()
    out = capsys.readouterr().out
    assert '2/4 supernet training' not in out and '[retrain] E0' not in out
    assert '[structural] 2/2 done' in out and '[subnet] 3/3 done' in out


def test_choose_structure_takes_the_best_supported_and_says_what_it_passed_over():
    # every structure of the structural space can be refined: a hand-written one outside it
    # (a ResNet has no P1 output) stands for one that cannot
    pts = [('r18_fpn-p1p5-p6_rpn_cascade2_512x512', 0.7, 10.0),
           ('r18_fpn-p2p5-p6_ga_cascade2_512x512', 0.5, 10.0),
           ('r18_fpn-p2p5-p6_rpn_rcnn_512x512', 0.3, 8.0),
           ('mv2_fpn-p3p5-p6_none_retina_512x512', 0.2, 5.0),
           ('r18_c4_rpn_rcnn_512x512', 0.6, 50.0)]
    structure, passed = choose_structure(pts)
    # C4 and GA-RPN structures are refined as themselves
    assert structure == 'r18_c4_rpn_rcnn_512x512'
    assert [a for a, _ in passed] == ['r18_fpn-p1p5-p6_rpn_cascade2_512x512']
    assert 'modular-levels' in passed[0][1]
    with pytest.raises(PipelineError, match='modular-levels'):
        choose_structure(pts[:1])
    # a MobileNetV2 structure is refined as MobileNetV2 (inverted residuals), never as a ResNet
    structure, passed = choose_structure(pts[2:4] + [('mv2_fpn-p3p5-p6_none_retina_512x512', 0.9, 4.0)])
    assert structure == 'mv2_fpn-p3p5-p6_none_retina_512x512' and not passed


def test_a_structural_stage_whose_trials_all_time_out_says_so_and_how_to_go_on(pipeline_cfg, tmp_path):
    """Every candidate killed at search.trial_timeout: the error names each one and its
    timeout, and says how to give them the time (the fix for a slow or busy machine)."""
    pipeline_cfg.pipeline.structural.cfg_options['search.trial_timeout'] = 0.01
    with pytest.raises(PipelineError) as e:
        Pipeline(pipeline_cfg, str(tmp_path / 'work')).run()
    msg = str(e.value)
    assert 'finished no candidate; failed: r18_fpn-p3p5-p6_' in msg and 'timeout: still running after' in msg
    assert 'raise search.trial_timeout' in msg and 'search.retry_failed=True' in msg
    assert msg.endswith('structural/report.md')


def test_an_ensemble_of_supernets_is_trained_with_other_seeds_and_searched_together(pipeline_cfg, tmp_path):
    """pipeline.supernet.seeds: the supernet trained again in supernet_seed<k>/ with its
    seeds plus k, and the search ranks each subnet by its mean over them; a count that is
    not a whole number >= 1 is refused."""
    import torch

    structure = 'r18_fpn-p3p5-p6_rpn_rcnn_512x512'
    cfg = pipeline_cfg
    cfg.pipeline.structure = structure
    cfg.pipeline.supernet.seeds = 2
    work = tmp_path / 'work'
    p = Pipeline(cfg, str(work))
    assert p.eta.plan.supernet_seeds == 2
    checkpoints = p.supernet(structure)
    assert [c.parent.name for c in checkpoints] == ['supernet', 'supernet_seed1']
    first, second = (Config.fromfile(str(work / d / 'config.py')) for d in ('supernet', 'supernet_seed1'))
    assert (second.model.seed, second.randomness.seed) == (first.model.seed + 1, first.randomness.seed + 1)
    weights = [torch.load(c, map_location='cpu', weights_only=False)['state_dict'] for c in checkpoints]
    assert any(not torch.equal(weights[0][k], weights[1][k]) for k in weights[0])  # two trainings
    state = json.loads((work / 'pipeline.json').read_text())
    assert state['stages']['supernet']['checkpoints'] == [str(c) for c in checkpoints]
    search, study = p.search(checkpoints)
    assert study.user_attrs['meta']['scoring'] == {'ensemble': 2}
    result = next((work / 'search' / 'trials').glob('*/result.json'))
    assert len(json.loads(result.read_text())['member_scores']) == 2
    for bad in (0, 1.5, True):
        cfg.pipeline.supernet.seeds = bad
        with pytest.raises(PipelineError, match='seeds must be a whole number >= 1'):
            Pipeline(cfg, str(tmp_path / 'bad'))
