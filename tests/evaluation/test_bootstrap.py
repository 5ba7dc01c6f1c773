"""The image bootstrap of a COCO mAP: its point estimate is COCO's (as mmdet reports
it), its spread is seeded, zero for a perfect model, and a paired comparison separates
a good model from a poor one but not a model from itself."""
import contextlib
import io
import json
import random

import pytest
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from smnas.data.synthetic import SyntheticConfig, generate
from smnas.evaluation.bootstrap import ImageBootstrap, noise_sentence


@pytest.fixture(scope='module')
def gt(tmp_path_factory):
    root = tmp_path_factory.mktemp('boot')
    generate(SyntheticConfig(image_size=(96, 64), num_train=1, num_val=40, seed=11), root)
    return root / 'annotations' / 'instances_val.json'


def _detections(ann_file, hit_rate: float, seed: int, jitter: float = 0.0):
    """GT boxes kept with probability ``hit_rate`` (jittered), plus one false positive
    per image, with random scores."""
    rng = random.Random(seed)
    ann = json.loads(ann_file.read_text())
    cats = [c['id'] for c in ann['categories']]
    out = []
    for a in ann['annotations']:
        if rng.random() < hit_rate:
            x, y, w, h = a['bbox']
            out.append(dict(image_id=a['image_id'], category_id=a['category_id'],
                            bbox=[x + jitter * w * rng.uniform(-1, 1), y, w, h], score=rng.uniform(0.3, 1)))
    for im in ann['images']:
        out.append(dict(image_id=im['id'], category_id=rng.choice(cats), bbox=[1, 1, 10, 10],
                        score=rng.uniform(0, 1)))
    return out


def _coco_map(ann_file, dets) -> float:
    with contextlib.redirect_stdout(io.StringIO()):
        g = COCO(str(ann_file))
        e = COCOeval(g, g.loadRes(dets), 'bbox')
        e.params.maxDets = [100, 300, 1000]
        e.evaluate()
        e.accumulate()
        e.summarize()
    return float(e.stats[0])


def test_point_estimate_is_cocos_and_spread_is_seeded(gt, tmp_path):
    dets = _detections(gt, 0.6, seed=1, jitter=0.2)
    path = tmp_path / 'd.bbox.json'
    path.write_text(json.dumps(dets))
    b = ImageBootstrap(gt)
    s = b.score(path, n=50, seed=3)
    assert s['mAP'] == pytest.approx(_coco_map(gt, dets), abs=1e-9)
    assert s['images'] == 40 and s['resamples'] == 50
    lo, hi = s['ci95']
    assert lo < s['mAP'] < hi and s['se'] > 0.01
    assert b.score(dets, n=50, seed=3) == s            # same seed, same resamples
    assert b.score(dets, n=50, seed=4)['se'] != s['se']


def test_perfect_and_empty_detections(gt):
    ann = json.loads(gt.read_text())
    perfect = [dict(image_id=a['image_id'], category_id=a['category_id'], bbox=a['bbox'], score=1.0)
               for a in ann['annotations']]
    b = ImageBootstrap(gt)
    s = b.score(perfect, n=20)
    assert s['mAP'] == pytest.approx(1.0) and s['se'] == pytest.approx(0.0) and s['ci95'] == [1.0, 1.0]
    assert b.score([], n=20)['mAP'] == 0.0


def test_paired_comparison_separates_good_from_poor_but_not_from_itself(gt):
    good, poor = _detections(gt, 0.9, seed=1), _detections(gt, 0.3, seed=2, jitter=0.4)
    b = ImageBootstrap(gt)
    c = b.compare(good, poor, n=100)
    assert c['diff'] > 0.2 and not c['within_noise'] and c['ci95'][0] > 0 and c['p_a_better'] == 1.0
    assert 'beyond noise: E1 is better' in noise_sentence('E1', 'E0', c)
    same = b.compare(good, good, n=50)
    assert same['diff'] == 0.0 and same['within_noise'] and same['ci95'] == [0.0, 0.0]
    assert 'within noise' in noise_sentence('E1', 'E0', same)


def test_report_compares_each_finalist_with_the_next_cheaper(gt, tmp_path):
    from smnas.records import Finalist
    from smnas.reports.tables import finalists_table, noise_lines

    records = []
    for i, (rate, gflops) in enumerate([(0.3, 1.0), (0.9, 2.0), (0.9, 3.0)]):
        run = tmp_path / f'E{i}'
        run.mkdir()
        (run / 'config.py').write_text(f"test_evaluator = dict(type='CocoMetric', ann_file={str(gt)!r})\n")
        dets = run / 'detections.bbox.json'
        dets.write_text(json.dumps(_detections(gt, rate, seed=1 if i else 2, jitter=0.0 if i else 0.4)))
        records.append(Finalist(name=f'E{i}', arch=f'a{i}', config='c.py', input_size=[96, 64], gflops=gflops,
                                mAP_retrained=0.5, mAP_se_retrained=0.01, mAP_ci95_retrained=[0.48, 0.52],
                                retrain_dir=str(run), detections=str(dets)))
    lines = noise_lines(records, resamples=50)
    body = [ln for ln in lines if ln.startswith('- ')]
    assert len(body) == 2
    assert body[0].startswith('- E1 - E0') and 'beyond noise: E1 is better' in body[0]
    assert body[1].startswith('- E2 - E1: +0.0000') and 'within noise' in body[1]
    table = '\n'.join(finalists_table(records))
    assert '0.5000 ± 0.0100' in table and '0.4800-0.5200' in table
    assert noise_lines(records[:1]) == []
