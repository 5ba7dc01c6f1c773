"""The synthetic dataset is deterministic, valid COCO, and its boxes are sane."""
import hashlib
import json

import pytest
from pycocotools.coco import COCO

from smnas.data.synthetic import SyntheticConfig, generate


def digest(root):
    h = hashlib.sha256()
    for p in sorted(root.rglob('*')):
        if p.is_file() and p.name != 'dataset_info.json':  # info holds versions only
            h.update(p.relative_to(root).as_posix().encode())
            h.update(p.read_bytes())
    return h.hexdigest()


def small(**kw):
    return SyntheticConfig(**{**dict(image_size=(96, 64), num_train=6, num_val=3, seed=1), **kw})


def test_same_seed_same_bytes_other_seed_differs(tmp_path):
    generate(small(), tmp_path / 'a')
    generate(small(), tmp_path / 'b')
    generate(small(seed=2), tmp_path / 'c')
    assert digest(tmp_path / 'a') == digest(tmp_path / 'b')
    assert digest(tmp_path / 'a') != digest(tmp_path / 'c')


def test_val_split_independent_of_train_size(tmp_path):
    generate(small(num_train=3), tmp_path / 'a')
    generate(small(num_train=8), tmp_path / 'b')
    va = json.loads((tmp_path / 'a/annotations/instances_val.json').read_text())
    vb = json.loads((tmp_path / 'b/annotations/instances_val.json').read_text())
    assert va['images'] == vb['images'] and va['annotations'] == vb['annotations']
    assert (tmp_path / 'a/images/val/000001.jpg').read_bytes() == \
        (tmp_path / 'b/images/val/000001.jpg').read_bytes()


def test_coco_valid_boxes_inside_and_classes_used(tmp_path):
    cfg = small(num_train=30, objects=(2, 5))
    info = generate(cfg, tmp_path)
    coco = COCO(str(tmp_path / info['ann_files']['train']))
    assert len(coco.getImgIds()) == 30
    assert [c['name'] for c in coco.loadCats(coco.getCatIds())] == list(cfg.classes)
    used = {a['category_id'] for a in coco.dataset['annotations']}
    assert used == set(coco.getCatIds())  # every class appears in 30 images
    per_img = [len(coco.getAnnIds(imgIds=i)) for i in coco.getImgIds()]
    assert min(per_img) >= 1 and max(per_img) <= 5
    for a in coco.dataset['annotations']:
        x, y, w, h = a['bbox']
        assert w > 0 and h > 0 and x >= 0 and y >= 0 and x + w <= 96 and y + h <= 64
        assert 0 < a['area'] <= w * h


def test_rerun_with_same_params_is_a_no_op(tmp_path):
    generate(small(), tmp_path)
    img = tmp_path / 'images' / 'train' / '000000.jpg'
    mtime = img.stat().st_mtime_ns
    generate(small(), tmp_path)
    assert img.stat().st_mtime_ns == mtime


@pytest.mark.parametrize('kw, msg', [
    (dict(classes=('circle', 'hexagon')), 'subset'),
    (dict(image_size=(16, 64)), 'at least 32'),
    (dict(objects=(3, 2)), 'objects'),
    (dict(scale=(0.5, 0.1)), 'scale'),
])
def test_invalid_parameters_named(tmp_path, kw, msg):
    with pytest.raises(ValueError, match=msg):
        generate(small(**kw), tmp_path)


@pytest.mark.parametrize('groups', [0, 2])
def test_class_colour_paints_each_class_in_its_colour(tmp_path, groups):
    """One colour per class, or with colour groups, class i in colour i % groups."""
    import numpy as np
    from PIL import Image

    from smnas.data.synthetic import _CLASS_COLOURS, SHAPES

    cfg = SyntheticConfig(image_size=(96, 96), num_train=12, num_val=0, objects=(1, 1), clutter=0,
                          max_occlusion=0.0, class_colour=True, colour_groups=groups, seed=1)
    generate(cfg, tmp_path)
    colours = (_CLASS_COLOURS if not groups else
               np.stack([_CLASS_COLOURS[SHAPES.index(c) % groups] for c in SHAPES[:len(_CLASS_COLOURS)]]))
    coco = COCO(str(tmp_path / 'annotations/instances_train.json'))
    for ann in coco.dataset['annotations']:
        img = np.asarray(Image.open(tmp_path / 'images' / coco.imgs[ann['image_id']]['file_name']), float)
        x, y, w, h = ann['bbox']
        centre = img[y + h // 2 - 1:y + h // 2 + 2, x + w // 2 - 1:x + w // 2 + 2].reshape(-1, 3).mean(0)
        name = coco.cats[ann['category_id']]['name']
        if name == 'ring':  # its centre is the hole
            continue
        expected = _CLASS_COLOURS[list(cfg.classes).index(name) % groups if groups else SHAPES.index(name)]
        assert np.abs(colours - centre).sum(1).min() == pytest.approx(np.abs(expected - centre).sum())
        assert np.abs(expected - centre).sum() < 120, (name, centre)


def test_colour_groups_need_class_colour():
    with pytest.raises(ValueError, match='colour_groups needs class_colour'):
        SyntheticConfig(colour_groups=2).validate()
    with pytest.raises(ValueError, match='colour_groups'):
        SyntheticConfig(class_colour=True, colour_groups=9).validate()
