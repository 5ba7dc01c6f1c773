"""The real datasets in ../shared/data convert with every quirk accounted for."""
from pathlib import Path

import pytest
from pycocotools.coco import COCO

from smnas.data import ConversionOptions, ConversionReport, convert_samples
from smnas.data.voc import read_voc

SHARED = Path(__file__).resolve().parents[3] / 'shared' / 'data'


def convert(name, out):
    src = SHARED / name
    if not src.is_dir():
        pytest.skip(f'{src} not present')
    report = ConversionReport()
    samples, splits_defined, desc = read_voc(src, report=report)
    res = convert_samples(samples, out, ConversionOptions(), report, desc, splits_defined)
    n_xml = len(list(src.rglob('*.xml')))
    n_obj = sum(p.read_text().count('<object>') for p in src.rglob('*.xml'))
    return res, n_xml, n_obj


def test_bccd(tmp_path):
    res, n_xml, n_obj = convert('bccd', tmp_path)
    assert res.report.count('zero_area_box') == 2
    assert res.report.dropped('image') == 0
    assert res.total_images == n_xml == 364
    assert res.total_boxes == n_obj - res.report.dropped('box') == n_obj - 2
    assert res.images == {'train': 205, 'val': 87, 'test': 72}
    assert res.classes == ['Platelets', 'RBC', 'WBC']
    for path in res.ann_files.values():
        COCO(str(path))


def test_raccoon(tmp_path):
    res, n_xml, n_obj = convert('raccoon', tmp_path)
    assert res.total_images == n_xml - res.report.dropped('image')
    assert res.total_boxes == n_obj - res.report.dropped('box')
    assert res.report.count('mode_grey') == 3
    assert sum(res.images.values()) == 200 and set(res.images) == {'train', 'val'}
    coco = COCO(str(res.ann_files['val']))
    assert len(coco.getImgIds()) == 40
