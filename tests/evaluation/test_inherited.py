"""Inherited-weight scoring: batched forwards give the batch-1 predictions, and a subset
score is the COCO mAP of exactly those images."""
import copy
import json

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate

from smnas.evaluation.inherited import InheritedEvaluator
from tests.search.test_subnet_search import tiny_supernet


@pytest.fixture(scope='module')
def setup(tmp_path_factory):
    root = tmp_path_factory.mktemp('data')
    return tiny_supernet(root, num_val=10, seed=5) + (root, )


@pytest.mark.parametrize('change, words', [
    ({'model.architecture.structure': 'r18_fpn-p3p5-p6_none_retina_160x120'}, 'missing'),
    ({'model.architecture.num_classes': 3}, 'another shape'),
])
def test_weights_of_another_detector_are_refused(setup, tmp_path, change, words):
    """Same space, another structure or class count: not scored as a half-random model."""
    from smnas.modular.export import NotASupernetCheckpoint

    cfg, ckpt, _ = setup
    other = Config(cfg.to_dict())
    other.merge_from_dict(change)
    with pytest.raises(NotASupernetCheckpoint, match=words) as e:
        InheritedEvaluator(other, ckpt, str(tmp_path / 'e'))
    assert 'config the supernet was trained with' in str(e.value)


def _predictions(ev, batches):
    out = []
    with ev.model.mutator.use('max'), torch.no_grad():
        for batch in batches:
            for s in ev.model.val_step(batch):
                out.append((s.img_id, s.pred_instances.bboxes.numpy(), s.pred_instances.scores.numpy()))
    return sorted(out, key=lambda r: r[0])


def test_batched_forward_predicts_as_batch_one(setup, tmp_path):
    cfg, ckpt, _ = setup
    ev = InheritedEvaluator(Config(cfg.to_dict()), ckpt, str(tmp_path / 'e'), batch_size=4)
    assert ev.batch_size == 4
    loader = ev.runner.val_loop.dataloader
    batched = _predictions(ev, loader)
    single = _predictions(ev, [pseudo_collate([loader.dataset[i]]) for i in range(len(loader.dataset))])
    assert len(batched) == len(single) == 10
    for (ia, ba, sa), (ib, bb, sb) in zip(batched, single):
        assert ia == ib and len(sa) > 0 and ba.shape == bb.shape
        np.testing.assert_allclose(ba, bb, atol=1e-3)
        np.testing.assert_allclose(sa, sb, atol=1e-4)


def _oracle(ev, ann, hit_ids):
    """Make the model predict each image's ground truth (hit) or boxes far from it."""
    by_img = {}
    for a in ann['annotations']:
        by_img.setdefault(a['image_id'], []).append(a)

    def val_step(batch):
        out = []
        for s in batch['data_samples']:
            from mmengine.structures import InstanceData
            gts = by_img.get(s.img_id, [])
            inst = InstanceData()
            boxes = [[x, y, x + w, y + h] for x, y, w, h in (g['bbox'] for g in gts)]
            if s.img_id not in hit_ids:
                boxes = [[0, 0, 2, 2] for _ in boxes]
            inst.bboxes = torch.tensor(boxes, dtype=torch.float32).reshape(-1, 4)
            inst.scores = torch.ones(len(boxes))
            inst.labels = torch.tensor([g['category_id'] - 1 for g in gts], dtype=torch.long)
            s.pred_instances = inst
            out.append(s)
        return out
    ev.runner.model.val_step = val_step


def test_subset_score_is_the_map_of_exactly_its_images(setup, tmp_path):
    cfg, ckpt, root = setup
    ann = json.loads((root / 'annotations/instances_val.json').read_text())
    ev = InheritedEvaluator(Config(cfg.to_dict()), ckpt, str(tmp_path / 'e'))
    idx = ev.subset_indices(5)
    assert idx == [0, 2, 4, 6, 8] and ev.subset_indices(5) == idx
    with pytest.raises(ValueError, match='1 to 10 images'):
        ev.subset_indices(11)
    ids = [ann['images'][i]['id'] for i in idx]
    _oracle(ev, ann, hit_ids=set(ids))
    # every subset image predicted perfectly: the subset's mAP is 1, whereas the full
    # set's (half its images missed) is lower; a subset score that counted the other
    # images as missed would be lower as well
    assert ev.evaluate('max', images=5)['mAP'] == pytest.approx(1.0)
    full = ev.evaluate('max')['mAP']
    assert 0.0 < full < 0.9
    # and the same as scoring a val set that holds only those images
    sub = copy.deepcopy(ann)
    sub['images'] = [im for im in ann['images'] if im['id'] in ids]
    sub['annotations'] = [a for a in ann['annotations'] if a['image_id'] in ids]
    _oracle(ev, ann, hit_ids=set(ids[:3]))
    partial = ev.evaluate('max', images=5)['mAP']
    (root / 'annotations/sub.json').write_text(json.dumps(sub))
    cfg2 = Config(cfg.to_dict())
    cfg2.merge_from_dict({'val_dataloader.dataset.ann_file': 'annotations/sub.json',
                          'val_evaluator.ann_file': str(root / 'annotations/sub.json')})
    ev2 = InheritedEvaluator(cfg2, ckpt, str(tmp_path / 'e2'))
    _oracle(ev2, ann, hit_ids=set(ids[:3]))
    assert ev2.num_images == 5
    assert partial == pytest.approx(ev2.evaluate('max')['mAP']) and 0.0 < partial < 1.0


def test_scoring_keeps_mmengine_and_coco_output_off_the_console(setup, tmp_path, capsys):
    cfg, ckpt, _ = setup
    ev = InheritedEvaluator(Config(cfg.to_dict()), ckpt, str(tmp_path / 'e'), batch_size=4)
    m = ev.evaluate('min')
    assert 0 <= m['mAP'] <= 1
    out = capsys.readouterr().out
    assert 'Average Precision' not in out and 'Config:' not in out, out[-2000:]
    mmdet = InheritedEvaluator(Config(cfg.to_dict()), ckpt, str(tmp_path / 'f'), batch_size=4,
                               lean_metric=False)
    mmdet.evaluate('min')
    assert 'Average Precision' not in capsys.readouterr().out
    assert 'Average Precision' in (tmp_path / 'f' / 'console.log').read_text()


@pytest.mark.parametrize('subnet', ['min', 'max'])
def test_the_ranking_metric_is_mmdets_map_unrounded(setup, tmp_path, subnet):
    """RankingCocoMetric (the search's) gives mmdet CocoMetric's mAP and mAP@0.5, which
    mmdet rounds to 3 decimals, on the full val set and on a subset."""
    cfg, ckpt, _ = setup
    lean = InheritedEvaluator(Config(cfg.to_dict()), ckpt, str(tmp_path / 'a'), batch_size=4)
    ref = InheritedEvaluator(Config(cfg.to_dict()), ckpt, str(tmp_path / 'b'), batch_size=4,
                             lean_metric=False)
    assert type(lean.runner.val_evaluator.metrics[0]).__name__ == 'RankingCocoMetric'
    for images in (None, 5):
        a, b = lean.evaluate(subnet, images=images), ref.evaluate(subnet, images=images)
        assert b['mAP'] > 0 and a['mAP'] == pytest.approx(b['mAP'], abs=5e-4)
        assert a['mAP_50'] == pytest.approx(b['mAP_50'], abs=5e-4)


def test_kept_batches_score_as_the_loop_does_and_load_images_once(setup, tmp_path, monkeypatch):
    import random

    cfg, ckpt, _ = setup
    plain = InheritedEvaluator(Config(cfg.to_dict()), ckpt, str(tmp_path / 'a'), batch_size=4, cache_mb=0)
    kept = InheritedEvaluator(Config(cfg.to_dict()), ckpt, str(tmp_path / 'b'), batch_size=4)

    def capture(ev):
        seen, evaluator = [], ev.runner.val_loop.evaluator
        original = evaluator.process

        def process(data_samples, data_batch=None):
            seen.extend((s.img_id, s.pred_instances.bboxes.clone(), s.pred_instances.scores.clone())
                        for s in data_samples)
            return original(data_samples, data_batch)
        evaluator.process = process
        return seen

    a, b = capture(plain), capture(kept)
    for sub in ['max', 'min', str(kept.space.sample(random.Random(4)))]:
        a.clear()
        b.clear()
        assert plain.evaluate(sub) == kept.evaluate(sub)
        assert len(a) == len(b) == 10 and sum(len(s) for _, _, s in a) > 0
        for (ia, ba, sa), (ib, bb, sb) in zip(a, b):
            assert ia == ib
            torch.testing.assert_close(ba, bb)
            torch.testing.assert_close(sa, sb)
    assert kept._cached[id(kept.runner.val_loop)] is not None
    assert plain._cached[id(plain.runner.val_loop)] is None

    expected = plain.evaluate('min')

    def no_loading(self, i):
        raise AssertionError('an image was loaded again')
    monkeypatch.setattr(type(kept.runner.val_loop.dataloader.dataset), '__getitem__', no_loading)
    assert kept.evaluate('min') == expected


def test_val_loss_is_deterministic_and_tells_subnets_apart(setup, tmp_path):
    """The loss score: the same for the same subnet and seed (cached or not), different
    for another subnet, finite and positive."""
    cfg, ckpt, _ = setup
    ev = InheritedEvaluator(Config(cfg.to_dict()), ckpt, str(tmp_path / 'e'))
    a = ev.val_loss('max')
    assert a > 0 and a == ev.val_loss('max')
    assert ev.val_loss('min') != a
    cold = InheritedEvaluator(Config(cfg.to_dict()), ckpt, str(tmp_path / 'f'), cache_mb=0)
    assert cold.val_loss('max') == pytest.approx(a, rel=1e-6)


@pytest.mark.parametrize('structure', [None, 'r18_fpn-p3p5-p6_none_retina_160x120'])
def test_one_pass_scores_the_map_and_the_loss_of_two_passes(setup, tmp_path, monkeypatch, structure):
    """evaluate(loss_seed=) gives evaluate()'s scores and val_loss()'s loss (two-stage and
    RetinaNet heads), extracting each batch's features once for both."""
    from smnas.testing import build_detector
    from tests.search.test_subnet_search import tiny_cfg

    cfg, ckpt, root = setup
    cfg = Config(cfg.to_dict())
    if structure:  # a supernet of another detector, built as the fixture's
        cfg = tiny_cfg(root)
        cfg.model.architecture.structure = structure
        torch.manual_seed(0)
        model = build_detector(cfg.model)
        ckpt = str(tmp_path / 'retina.pth')
        torch.save(dict(state_dict=model.state_dict(), meta=dict(supernet_space=dict(cfg.model.space))), ckpt)
    ev = InheritedEvaluator(cfg, ckpt, str(tmp_path / 'e'), batch_size=4)
    detector = type(ev.model.architecture)
    calls, extract = [], detector.extract_feat

    def counted(self, inputs):
        calls.append(inputs.shape[0])
        return extract(self, inputs)
    monkeypatch.setattr(detector, 'extract_feat', counted)
    for subnet in ('max', 'min'):
        apart = dict(ev.evaluate(subnet), val_loss=ev.val_loss(subnet, seed=3))
        assert len(calls) == 2 * 3  # 10 images in batches of 4, twice
        calls.clear()
        together = ev.evaluate(subnet, loss_seed=3)
        assert calls == [4, 4, 2]
        calls.clear()
        terms = together.pop('val_loss_terms')
        assert together.keys() == apart.keys() and together['val_loss'] > 0
        for key, value in apart.items():
            assert together[key] == pytest.approx(value, rel=1e-6, abs=1e-9), key
        # the loss's terms, each a mean over the same batches: they add up to it
        assert terms and all('loss' in k for k in terms)
        assert ('loss_rpn_cls' in terms) == (structure is None)
        assert sum(terms.values()) == pytest.approx(together['val_loss'], rel=1e-5)
    assert 'extract_feat' not in vars(ev.model.architecture)  # the method is back


def test_a_finetune_trains_the_subnet_then_restores_the_inherited_weights(setup, tmp_path):
    """Fine-tuning lowers the subnet's loss on the images it trains on, changes only the
    weights that subnet uses, is deterministic under its seed, and is undone after."""
    cfg, ckpt, root = setup
    cfg = Config(cfg.to_dict())
    cfg.merge_from_dict({'train_dataloader.dataset.data_root': f'{root}/', 'train_dataloader.num_workers': 0,
                         'train_dataloader.persistent_workers': False, 'train_dataloader.batch_size': 2})
    cfg.train_dataloader.dataset.pipeline[2].scale = (96, 64)
    ev = InheritedEvaluator(cfg, ckpt, str(tmp_path / 'e'))
    before = {k: v.clone() for k, v in ev.model.state_dict().items()}
    loss = ev.val_loss('min')
    with ev.finetuned('min', iters=4, lr=0.01) as seconds:
        tuned = {k: v.clone() for k, v in ev.model.state_dict().items()}
        tuned_loss = ev.val_loss('min')
        assert seconds > 0 and str(ev.model.mutator.current) == str(ev.space.min_subnet())
    changed = [k for k in before if not torch.equal(before[k], tuned[k])]
    assert changed and tuned_loss != loss
    # the min subnet's first stem conv is 8 wide (base 16): the weights past its slice stay
    stem = 'architecture.backbone.stem.0.weight'
    assert stem in changed and torch.equal(tuned[stem][8:], before[stem][8:])
    assert not torch.equal(tuned[stem][:8], before[stem][:8])
    assert all(torch.equal(before[k], v) for k, v in ev.model.state_dict().items())  # restored
    assert str(ev.model.mutator.current) == str(ev.space.max_subnet())
    with ev.finetuned('min', iters=4, lr=0.01):
        again = ev.model.state_dict()
        assert all(torch.equal(tuned[k], again[k]) for k in tuned)  # same seed, same weights


def test_the_ranking_metric_equals_pycocotools_summary_exactly(setup):
    """On detections near and far from the ground truth: the full COCOeval's AP and AP50
    (mmdet's parameters: 100/300/1000 detections, reported at 1000), to float precision."""
    import contextlib
    import io

    from pycocotools.cocoeval import COCOeval

    from smnas.evaluation.ranking_metric import RankingCocoMetric

    _, _, root = setup
    metric = RankingCocoMetric(ann_file=str(root / 'annotations' / 'instances_val.json'))
    gt = metric._coco_api
    metric.dataset_meta = dict(classes=[c['name'] for c in gt.loadCats(gt.getCatIds())])
    cat_ids = gt.getCatIds()
    rng = np.random.default_rng(0)
    results, dets = [], []
    for img_id in gt.getImgIds():
        boxes, scores, labels = [], [], []
        for a in gt.loadAnns(gt.getAnnIds(imgIds=[img_id])):
            x, y, w, h = a['bbox']
            for _ in range(3):  # near the object, at several overlaps, and a random box
                j = rng.normal(0, 0.15, 4) * [w, h, w, h]
                boxes.append([x + j[0], y + j[1], x + w + j[2], y + h + j[3]])
                scores.append(rng.random())
                wrong = rng.random() >= 0.8  # a wrong class now and then
                labels.append(rng.integers(len(cat_ids)) if wrong else cat_ids.index(a['category_id']))
            bx, by = rng.random(2) * 60
            boxes.append([bx, by, bx + 20, by + 15])
            scores.append(rng.random())
            labels.append(rng.integers(len(cat_ids)))
        results.append(({}, dict(img_id=img_id, bboxes=np.array(boxes), scores=np.array(scores),
                                 labels=np.array(labels))))
        dets += [dict(image_id=img_id, category_id=cat_ids[int(c)], score=float(sc),
                      bbox=[b[0], b[1], b[2] - b[0], b[3] - b[1]])
                 for b, sc, c in zip(boxes, scores, labels)]
    got = metric.compute_metrics(results)
    with contextlib.redirect_stdout(io.StringIO()):
        e = COCOeval(gt, gt.loadRes(dets), 'bbox')
        e.params.maxDets = [100, 300, 1000]
        e.evaluate()
        e.accumulate()
        e.summarize()
    assert 0.05 < e.stats[0] < 0.95
    assert got['bbox_mAP'] == pytest.approx(e.stats[0], abs=1e-12)
    assert got['bbox_mAP_50'] == pytest.approx(e.stats[1], abs=1e-12)
    # with a bootstrap: the same mAP, and the standard error of ImageBootstrap's same draws
    from smnas.evaluation.bootstrap import ImageBootstrap

    boot = RankingCocoMetric(ann_file=str(root / 'annotations' / 'instances_val.json'), bootstrap=30)
    boot.dataset_meta = metric.dataset_meta
    with_se = boot.compute_metrics(results)
    ref = ImageBootstrap(root / 'annotations' / 'instances_val.json').score(dets, n=30, seed=0)
    assert with_se['bbox_mAP'] == got['bbox_mAP'] and with_se['bbox_mAP_se'] > 0
    assert with_se['bbox_mAP_se'] == pytest.approx(ref['se'], rel=1e-9)
    assert 'bbox_mAP_se' not in got


def test_a_bootstrap_gives_each_inherited_score_its_standard_error(setup, tmp_path):
    """InheritedEvaluator(bootstrap=n): the same mAP as without, and its standard error
    over the val images (of the subset's images on a subset); refused without a COCO
    bbox metric to give it."""
    cfg, ckpt, _ = setup
    plain = InheritedEvaluator(Config(cfg.to_dict()), ckpt, str(tmp_path / 'a'), batch_size=4)
    boot = InheritedEvaluator(Config(cfg.to_dict()), ckpt, str(tmp_path / 'b'), batch_size=4, bootstrap=20)
    for images in (None, 5):
        a, b = plain.evaluate('max', images=images), boot.evaluate('max', images=images)
        assert 'mAP_se' not in a and b['mAP'] == a['mAP'] and b['mAP_se'] > 0
    with pytest.raises(ValueError, match='needs a COCO bbox val_evaluator'):
        InheritedEvaluator(Config(cfg.to_dict()), ckpt, str(tmp_path / 'c'), lean_metric=False, bootstrap=20)


def test_bf16_scoring_runs_the_trunk_in_bf16_and_the_roi_stage_in_float32(setup, tmp_path):
    """precision='bf16' is in effect during scoring, and only there: the first convolution
    gets channels-last images and computes in bf16, the RoI stage in float32 (so autocast
    is back on after it, for the next batch); the model's weights stay float32."""
    cfg, ckpt, _ = setup
    seen = {}
    evs = {k: InheritedEvaluator(Config(cfg.to_dict()), ckpt, str(tmp_path / k), batch_size=4, precision=k)
           for k in ('fp32', 'bf16')}
    for k, ev in evs.items():
        conv = next(m for m in ev.model.modules() if isinstance(m, torch.nn.Conv2d))
        roi = ev.model.architecture.roi_head

        def first_conv(m, i, o, k=k):
            seen.setdefault(k, {})['conv'] = (o.dtype, i[0].is_contiguous(memory_format=torch.channels_last))

        def box_head(m, i, o, k=k):
            seen[k]['box_head'] = (i[0].dtype, o[0].dtype, torch.is_autocast_enabled('cpu'))

        handles = [conv.register_forward_hook(first_conv), roi.bbox_head.register_forward_hook(box_head)]
        try:
            m = ev.evaluate('max')
        finally:
            for h in handles:
                h.remove()
        assert 0.0 <= m['mAP'] <= 1.0
        assert all(p.dtype == torch.float32 for p in ev.model.parameters())
        assert not torch.is_autocast_enabled('cpu')
    f32, b16 = torch.float32, torch.bfloat16
    assert seen['fp32'] == {'conv': (f32, False), 'box_head': (f32, f32, False)}
    assert seen['bf16'] == {'conv': (b16, True), 'box_head': (f32, f32, False)}
    # the RoI stage's hooks are gone after scoring: a bf16 forward outside it is plain bf16
    with torch.autocast('cpu', dtype=b16):
        fc = roi.bbox_head.shared_fcs[0]
        assert fc(torch.zeros(1, fc.in_features)).dtype == b16


def test_an_unknown_scoring_precision_is_refused_with_the_choices():
    from smnas.evaluation.inherited import check_precision

    assert check_precision(None) == 'fp32' and check_precision('bf16') == 'bf16'
    with pytest.raises(ValueError, match="'int8' is not one of fp32, bf16, fp16"):
        check_precision('int8')


def test_the_val_loss_of_some_terms_sums_those_alone(setup, tmp_path):
    """``loss_terms``: the val loss sums the named terms (every term still reported); a
    term the detector lacks is refused with the ones it has."""
    from smnas.evaluation.inherited import check_loss_terms

    cfg, ckpt, _ = setup
    every = InheritedEvaluator(Config(cfg.to_dict()), ckpt, str(tmp_path / 'e'))
    box = InheritedEvaluator(Config(cfg.to_dict()), ckpt, str(tmp_path / 'f'), loss_terms=['loss_bbox'])
    whole, part = every.evaluate('max', loss_seed=1), box.evaluate('max', loss_seed=1)
    assert part['val_loss_terms'] == pytest.approx(whole['val_loss_terms'])
    assert part['val_loss'] == pytest.approx(whole['val_loss_terms']['loss_bbox'], rel=1e-6)
    assert part['val_loss'] < whole['val_loss']
    assert box.val_loss('max', seed=1) == pytest.approx(part['val_loss'], rel=1e-6)
    two = InheritedEvaluator(Config(cfg.to_dict()), ckpt, str(tmp_path / 'g'),
                             loss_terms=['loss_bbox', 'loss_cls'])
    assert two.val_loss('max', seed=1) == pytest.approx(
        whole['val_loss_terms']['loss_bbox'] + whole['val_loss_terms']['loss_cls'], rel=1e-6)
    wrong = InheritedEvaluator(Config(cfg.to_dict()), ckpt, str(tmp_path / 'h'), loss_terms=['loss_box'])
    with pytest.raises(ValueError, match=r"sum loss_box, which .*its terms: loss_bbox, loss_cls, loss_rpn"):
        wrong.val_loss('max', images=1)
    pattern = InheritedEvaluator(Config(cfg.to_dict()), ckpt, str(tmp_path / 'p'), loss_terms=['*_bbox'])
    assert pattern.val_loss('max', seed=1) == pytest.approx(
        whole['val_loss_terms']['loss_bbox'] + whole['val_loss_terms']['loss_rpn_bbox'], rel=1e-6)
    assert check_loss_terms('loss_bbox') == ['loss_bbox'] and check_loss_terms(None) is None
    for bad in ([], [''], [3]):
        with pytest.raises(ValueError, match='non-empty list of loss names'):
            check_loss_terms(bad)


def test_loss_term_patterns_pick_the_same_head_in_every_structure():
    """A pattern names a term in every head: '*loss_bbox' is a Faster R-CNN's RoI box loss and
    each cascade stage's, never the RPN's; a pattern that matches nothing is refused with the
    detector's terms."""
    from smnas.evaluation.inherited import select_loss_terms

    rcnn = ['loss_rpn_cls', 'loss_rpn_bbox', 'loss_cls', 'loss_bbox']
    cascade = ['loss_rpn_cls', 'loss_rpn_bbox', 's0.loss_cls', 's0.loss_bbox', 's1.loss_cls', 's1.loss_bbox']
    assert select_loss_terms(['*loss_bbox'], rcnn) == ['loss_bbox']
    assert select_loss_terms(['*loss_bbox'], cascade) == ['s0.loss_bbox', 's1.loss_bbox']
    assert select_loss_terms(['loss_bbox', 'loss_cls'], rcnn) == ['loss_cls', 'loss_bbox']  # each once
    assert select_loss_terms(['loss_*', 'loss_cls'], rcnn) == rcnn
    with pytest.raises(ValueError, match=r'sum loss_bbox, which .*its terms: loss_rpn_bbox, loss_rpn_cls, '
                                         r's0.loss_bbox'):
        select_loss_terms(['loss_bbox'], cascade)
