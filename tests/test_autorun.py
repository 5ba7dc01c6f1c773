"""``smnas run --data DIR``: data checked before any training, a budget sized from the
images, every config written to the work dir (runnable and resumable as it is)."""
import json

import pytest
from mmengine.config import Config

from smnas.autorun import DataError, input_scale, plan, prepare, summarise, write_configs
from smnas.data.synthetic import SyntheticConfig, generate
from smnas.pipeline import main

from .data.conftest import VocBuilder


def _voc(root, classes=('cat', 'dog'), n=10, size=(200, 120)):
    b = VocBuilder(root)
    for i in range(n):
        b.add(f'im{i}', [(classes[i % len(classes)], (10, 10, 60, 50))], size=size, seed=i)
    return root


def test_a_voc_folder_is_converted_and_counted(tmp_path):
    root = prepare(_voc(tmp_path / 'voc'), tmp_path / 'work')
    assert root == tmp_path / 'work' / 'data'
    s = summarise(root)
    assert s['classes'] == ['cat', 'dog'] and s['boxes_per_class']['cat'] > 0
    assert s['train_images'] + s['val_images'] == 10 and s['val_images'] > 0
    assert s['median_size'] == [200, 120]
    assert prepare(tmp_path / 'voc', tmp_path / 'work') == root  # converted once


def test_a_coco_layout_is_used_as_it_is(tmp_path):
    generate(SyntheticConfig(image_size=(96, 64), num_train=4, num_val=2, seed=1), tmp_path / 'coco')
    assert prepare(tmp_path / 'coco', tmp_path / 'work') == tmp_path / 'coco'
    assert not (tmp_path / 'work' / 'data').exists()


def test_bad_data_is_refused_before_any_training(tmp_path, capsys):
    with pytest.raises(DataError, match='not a folder'):
        prepare(tmp_path / 'nowhere', tmp_path / 'w')
    (tmp_path / 'empty').mkdir()
    with pytest.raises(DataError, match='could not be converted'):
        prepare(tmp_path / 'empty', tmp_path / 'w0')
    # images, but no boxes
    unlabelled = tmp_path / 'unlabelled'
    b = VocBuilder(unlabelled)
    for i in range(6):
        b.add(f'im{i}', [], seed=i)
    with pytest.raises(DataError, match='no labelled boxes'):
        summarise(prepare(unlabelled, tmp_path / 'w1'))
    # a class named in the annotations' class list, with no training box
    generate(SyntheticConfig(image_size=(96, 64), num_train=4, num_val=2, seed=1), tmp_path / 'c')
    ann = tmp_path / 'c' / 'annotations' / 'instances_train.json'
    d = json.loads(ann.read_text())
    d['categories'].append(dict(id=99, name='zebra'))
    ann.write_text(json.dumps(d))
    with pytest.raises(DataError, match='zebra have no training box'):
        summarise(tmp_path / 'c')
    # the command line: exit code 2 and the reason, nothing trained
    assert main(['run', '--data', str(unlabelled), '--work-dir', str(tmp_path / 'w2')]) == 2
    assert 'no labelled boxes' in capsys.readouterr().err
    assert not (tmp_path / 'w2' / 'pipeline.py').exists()


def test_the_budget_sizes_the_run_and_a_too_small_one_is_refused():
    assert input_scale([200, 120]) == 0.15 and input_scale([4000, 3000]) == 1.0
    quick = plan(35.4 / 60, 0.24)  # the quickstart's cost at 192x128: its own settings
    assert (quick['trials'], quick['trial_iters'], quick['supernet_iters']) == (6, 40, 300)
    big = plan(4.0, 0.2)
    assert big['supernet_iters'] > quick['supernet_iters'] and big['trials'] > quick['trials']
    assert big['finalists'] == 6 and quick['finalists'] == 3
    assert plan(4.0, 0.6)['supernet_iters'] < big['supernet_iters']  # larger inputs: fewer iterations
    with pytest.raises(DataError, match='too small for one candidate at 480x352'):
        plan(0.05, 0.6)


def test_written_configs_load_and_resume_with_smnas_run(tmp_path):
    generate(SyntheticConfig(image_size=(96, 64), num_train=4, num_val=2, seed=1), tmp_path / 'coco')
    s = summarise(tmp_path / 'coco')
    path = write_configs(tmp_path / 'work', s, 0.1, plan(1.0, 0.1), tmp_path / 'coco')
    cfg = Config.fromfile(str(path))
    assert cfg.work_dir == str((tmp_path / 'work').resolve())
    assert cfg.pipeline.retrain.iters >= 200 and cfg.pipeline.subnet_search.finalists in (3, 6)
    structural = Config.fromfile(str(tmp_path / 'work' / 'structural.py'))
    assert structural.prepare_data is None and structural.search_space.input_scale == 0.1
    # only structures the modular stage refines: a short search always ends with one
    from smnas.modular.structure import structure_problems
    from smnas.structural import StructuralSpace
    space = StructuralSpace.from_cfg(structural.search_space)
    assert space.count() > 0 and not any(structure_problems(c) for c in space.candidates())
    assert structural.train_dataloader.dataset.data_root == f'{(tmp_path / "coco").resolve()}/'
    assert structural.test_evaluator.ann_file.endswith('coco/annotations/instances_val.json')
    supernet = Config.fromfile(str(tmp_path / 'work' / 'supernet.py'))
    assert supernet.model.architecture.num_classes == len(s['classes'])
    assert supernet.val_dataloader.dataset.data_root == structural.val_dataloader.dataset.data_root
