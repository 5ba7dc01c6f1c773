"""YOLO conversion: layouts, class names, and every label-line quirk."""
import pytest

from smnas.data import ConversionOptions, ConversionReport, DatasetError, convert_samples
from smnas.data.cli import main as convert_main
from smnas.data.yolo import read_class_names, read_yolo

from .conftest import load_coco, write_image


def convert(root, out, classes=None, **opts):
    report = ConversionReport()
    samples, splits_defined, desc, classes = read_yolo(root, classes)
    res = convert_samples(samples, out, ConversionOptions(classes=classes, **opts), report, desc,
                          splits_defined)
    return res


def test_ultralytics_layout_with_data_yaml(tmp_path):
    root = tmp_path / 'y'
    (root).mkdir()
    (root / 'data.yaml').write_text('names:\n  0: cat\n  1: dog\n')
    write_image(root / 'images' / 'train' / 'a.jpg', (100, 50))
    (root / 'labels' / 'train').mkdir(parents=True)
    (root / 'labels' / 'train' / 'a.txt').write_text('0 0.5 0.5 0.2 0.4\n1 0.25 0.25 0.1 0.1\n')
    write_image(root / 'images' / 'valid' / 'b.jpg', (100, 50), seed=1)
    (root / 'labels' / 'valid').mkdir(parents=True)
    (root / 'labels' / 'valid' / 'b.txt').write_text('1 0.5 0.5 1.0 1.0\n')
    res = convert(root, tmp_path / 'out')
    assert res.classes == ['cat', 'dog']
    assert res.images == {'train': 1, 'val': 1}
    train = load_coco(res.ann_files['train'])
    boxes = sorted((a['category_id'], a['bbox']) for a in train['annotations'])
    assert boxes == [(1, [40.0, 15.0, 20.0, 20.0]), (2, [20.0, 10.0, 10.0, 5.0])]
    assert train['images'][0]['file_name'] == 'train/a.jpg'


def test_flat_layout_quirks(tmp_path):
    root = tmp_path / 'y'
    (root / 'labels').mkdir(parents=True)
    (root / 'labels' / 'classes.txt').write_text('cat\ndog\n')
    write_image(root / 'images' / 'a.png', (40, 40), fmt='PNG')
    (root / 'labels' / 'a.txt').write_text('\n'.join([
        '0 0.5 0.5 0.5 0.5',           # fine
        '7 0.5 0.5 0.1 0.1',           # class id out of range
        '1 0.5 0.5',                   # too few numbers
        'dog 0.5 0.5 0.1 0.1',         # non-numeric class
        '1 0.9 0.9 0.4 0.4',           # partly outside: clipped
        '0 0.5 0.5 0.0 0.2',           # zero width
        '1 0.1 0.1 0.3 0.1 0.3 0.3',   # polygon -> box
        '',
    ]))
    write_image(root / 'images' / 'background.jpg', (40, 40), seed=1)   # no label file
    (root / 'labels' / 'orphan.txt').write_text('0 0.5 0.5 0.1 0.1\n')  # no image
    with pytest.raises(DatasetError, match='orphan'):
        convert(root, tmp_path / 'out')
    res = convert(root, tmp_path / 'out', skip_missing=True, val_ratio=0.0)
    rep = res.report
    assert rep.count('unknown_class') == 1
    assert rep.count('malformed_box') == 2
    assert rep.count('clipped_box') == 1
    assert rep.count('zero_area_box') == 1
    assert rep.count('polygon_label') == 1
    assert rep.count('missing_image') == 1
    assert rep.count('unlabeled_image') == 1
    assert res.total_images == 2 and res.total_boxes == 3
    anns = load_coco(res.ann_files['train'])['annotations']
    assert [28.0, 28.0, 12.0, 12.0] in [a['bbox'] for a in anns]   # clipped to 40x40
    assert [4.0, 4.0, 8.0, 8.0] in [a['bbox'] for a in anns]       # polygon's box


def test_class_names_missing_are_numbered(tmp_path, capsys):
    root = tmp_path / 'y'
    write_image(root / 'a.jpg', (20, 20))
    (root / 'a.txt').write_text('2 0.5 0.5 0.5 0.5\n')
    assert read_class_names(root) is None
    assert convert_main([str(root), '--out', str(tmp_path / 'out'), '--val-ratio', '0']) == 0
    out = capsys.readouterr().out
    assert 'class_2' in out and 'no class names found' in out


def test_cli_classes_override_and_auto_format(tmp_path, capsys):
    root = tmp_path / 'y'
    write_image(root / 'images' / 'a.jpg', (20, 20))
    (root / 'labels').mkdir()
    (root / 'labels' / 'a.txt').write_text('1 0.5 0.5 0.5 0.5\n')
    assert convert_main([str(root), '--out', str(tmp_path / 'out'), '--classes', 'x,y',
                         '--val-ratio', '0']) == 0
    coco = load_coco(tmp_path / 'out' / 'annotations' / 'instances_train.json')
    assert [c['name'] for c in coco['categories']] == ['x', 'y']
    assert coco['annotations'][0]['category_id'] == 2
