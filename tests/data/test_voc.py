"""VOC conversion: every quirk is fixed or dropped, and counted."""
import pytest
from PIL import Image
from pycocotools.coco import COCO

from smnas.data import ConversionOptions, ConversionReport, DatasetError, convert_samples
from smnas.data.cli import main as convert_main
from smnas.data.voc import read_voc

from .conftest import load_coco


def convert(root, out, report=None, **opts):
    report = report if report is not None else ConversionReport()
    samples, splits_defined, desc = read_voc(root, report=report)
    return convert_samples(samples, out, ConversionOptions(**opts), report, desc, splits_defined)


def all_anns(result):
    anns, images = [], []
    for path in result.ann_files.values():
        d = load_coco(path)
        anns += d['annotations']
        images += d['images']
    return images, anns


def test_clean_voc_layout_with_splits(voc, tmp_path):
    voc.add('a', [('cat', (1, 2, 20, 25)), ('dog', (5, 5, 30, 28))])
    voc.add('b', [('dog', (0, 0, 40, 30))], seed=1)
    voc.add('c', [('cat', (3, 3, 10, 10))], seed=2)
    voc.splits(train=['a', 'b'], val=['c'])
    res = convert(voc.root, tmp_path / 'out')
    assert res.classes == ['cat', 'dog']
    assert res.images == {'train': 2, 'val': 1}
    assert not res.report.counts
    coco = COCO(str(res.ann_files['train']))
    assert len(coco.getImgIds()) == 2 and len(coco.getAnnIds()) == 3
    ann = [a for a in coco.dataset['annotations'] if a['bbox'][2] == 19][0]
    assert ann['bbox'] == [1, 2, 19, 23] and ann['area'] == 19 * 23
    assert coco.loadCats(ann['category_id'])[0]['name'] == 'cat'
    assert (tmp_path / 'out' / 'images' / 'a.jpg').read_bytes() == (voc.img_dir / 'a.jpg').read_bytes()


def test_boxes_zero_area_outside_clipped_inverted(voc, tmp_path):
    voc.add('a', [('cat', (5, 5, 5, 5)),        # zero area
                  ('cat', (50, 40, 60, 50)),    # entirely outside a 40x30 image
                  ('cat', (-5, 10, 20, 35)),    # partly outside: clipped
                  ('cat', (20, 25, 10, 5)),     # inverted corners: swapped
                  ('cat', (1, 1, 'x', 9)),      # non-numeric
                  ('cat', (2, 2, 12, 12))])
    res = convert(voc.root, tmp_path / 'out')
    rep = res.report
    assert rep.count('zero_area_box') == 1
    assert rep.count('outside_box') == 1
    assert rep.count('clipped_box') == 1
    assert rep.count('inverted_box') == 1
    assert rep.count('malformed_box') == 1
    _, anns = all_anns(res)
    assert len(anns) == 3
    boxes = sorted(a['bbox'] for a in anns)
    assert [0, 10, 20, 20] in boxes        # clipped to x >= 0 and y <= 30
    assert [10, 5, 10, 20] in boxes        # swapped
    assert res.source['boxes'] == res.total_boxes + rep.dropped('box')


def test_image_modes_and_format_mismatch_are_reencoded(voc, tmp_path):
    voc.add('png_named_jpg', [('cat', (1, 1, 9, 9))], fmt='PNG', ext='.jpg')
    voc.add('rgba', [('cat', (1, 1, 9, 9))], mode='RGBA', fmt='PNG', ext='.png', seed=1)
    voc.add('palette', [('cat', (1, 1, 9, 9))], mode='P', fmt='PNG', ext='.png', seed=2)
    voc.add('grey', [('cat', (1, 1, 9, 9))], mode='L', seed=3)
    voc.add('clean', [('cat', (1, 1, 9, 9))], seed=4)
    res = convert(voc.root, tmp_path / 'out')
    rep = res.report
    assert rep.count('format_mismatch') == 1
    assert rep.count('mode_rgba') == 1
    assert rep.count('mode_palette') == 1
    assert rep.count('mode_grey') == 1
    images, _ = all_anns(res)
    assert len(images) == 5
    for im in images:
        with Image.open(tmp_path / 'out' / 'images' / im['file_name']) as pil:
            assert pil.mode == 'RGB'
            expected = 'PNG' if im['file_name'].endswith('.png') else 'JPEG'
            assert pil.format == expected, im['file_name']
            assert pil.size == (im['width'], im['height'])


def test_size_missing_or_zero_read_from_image(voc, tmp_path):
    voc.add('nosize', [('cat', (1, 1, 9, 9))], size=(50, 20), declared='missing')
    voc.add('zerosize', [('cat', (1, 1, 9, 9))], size=(50, 20), declared=(0, 0), seed=1)
    voc.add('wrongsize', [('cat', (1, 1, 9, 9))], size=(50, 20), declared=(100, 40), seed=2)
    res = convert(voc.root, tmp_path / 'out')
    assert res.report.count('size_missing') == 2
    assert res.report.count('size_mismatch') == 1
    images, _ = all_anns(res)
    assert {(im['width'], im['height']) for im in images} == {(50, 20)}


def test_exif_rotation_follows_the_annotated_size(voc, tmp_path):
    # Stored 40x30 with orientation 6 (rotate 90): viewers show 30x40.
    voc.add('rotated_view', [('cat', (1, 1, 20, 35))], size=(40, 30), declared=(30, 40),
            exif_orientation=6)
    voc.add('stored_view', [('cat', (1, 1, 35, 20))], size=(40, 30), declared=(40, 30),
            exif_orientation=6, seed=1)
    res = convert(voc.root, tmp_path / 'out')
    assert res.report.count('exif_rotated') == 1
    assert res.report.count('exif_ignored') == 1
    images, anns = all_anns(res)
    sizes = {im['file_name']: (im['width'], im['height']) for im in images}
    assert sizes == {'rotated_view.jpg': (30, 40), 'stored_view.jpg': (40, 30)}
    for name, size in sizes.items():
        with Image.open(tmp_path / 'out' / 'images' / name) as pil:
            assert pil.size == size
            assert pil.getexif().get(0x0112, 1) == 1
    assert len(anns) == 2 and not res.report.count('clipped_box')


def test_unknown_classes_dropped_with_class_list(voc, tmp_path):
    voc.add('a', [('cat', (1, 1, 9, 9)), ('zebra', (2, 2, 8, 8)), ('Cat ', (3, 3, 9, 9))])
    res = convert(voc.root, tmp_path / 'out', classes=['cat', 'dog'])
    assert res.classes == ['cat', 'dog']
    assert res.report.count('unknown_class') == 2  # 'zebra' and 'Cat' (case is not guessed)
    assert 'zebra' in ' '.join(res.report.examples['unknown_class'])
    _, anns = all_anns(res)
    assert len(anns) == 1


def test_missing_image_is_an_error_naming_the_file_or_skipped(voc, tmp_path, capsys):
    voc.add('a', [('cat', (1, 1, 9, 9))])
    voc.add('ghost', [('cat', (1, 1, 9, 9)), ('cat', (2, 2, 9, 9))], image=False)
    with pytest.raises(DatasetError, match=r'ghost\.xml.*ghost\.jpg.*--skip-missing'):
        convert(voc.root, tmp_path / 'out')
    assert convert_main([str(voc.root), '--out', str(tmp_path / 'cli')]) == 2
    assert 'ghost.jpg' in capsys.readouterr().err
    res = convert(voc.root, tmp_path / 'out', skip_missing=True)
    assert res.report.count('missing_image') == 1
    assert res.total_images == 1 and res.boxes_in_dropped_images == 2


def test_images_without_labels_kept_as_background_or_dropped(voc, tmp_path):
    voc.add('a', [('cat', (1, 1, 9, 9))])
    from .conftest import write_image
    write_image(voc.img_dir / 'lonely.jpg', seed=5)
    res = convert(voc.root, tmp_path / 'out')
    assert res.report.count('unlabeled_image') == 1 and res.total_images == 2
    res = convert(voc.root, tmp_path / 'out2', drop_unlabeled=True)
    assert res.report.count('unlabeled_image_dropped') == 1 and res.total_images == 1


def test_broken_xml_and_corrupt_image(voc, tmp_path):
    voc.add('a', [('cat', (1, 1, 9, 9))])
    voc.add('b', [('cat', (1, 1, 9, 9))], seed=1)
    (voc.ann_dir / 'b.xml').write_text('<annotation><object><name>cat</name>')  # truncated
    voc.add('c', [('cat', (1, 1, 9, 9))], seed=2)
    data = (voc.img_dir / 'c.jpg').read_bytes()
    (voc.img_dir / 'c.jpg').write_bytes(data[: len(data) // 3])  # truncated JPEG
    with pytest.raises(DatasetError, match=r'c\.jpg.*--skip-corrupt'):
        convert(voc.root, tmp_path / 'out')
    res = convert(voc.root, tmp_path / 'out', skip_corrupt=True)
    assert res.report.count('broken_annotation') == 1
    assert res.report.count('corrupt_image') == 1
    assert res.total_images == 1


def test_split_lists_trainval_duplicates_and_unlisted(voc, tmp_path):
    for i, stem in enumerate('abcd'):
        voc.add(stem, [('cat', (1, 1, 9, 9))], seed=i)
    voc.splits(train=['a', 'b'], val=['b', 'c'])  # b in two lists; d in none
    res = convert(voc.root, tmp_path / 'out')
    assert res.report.count('duplicate_in_splits') == 1
    assert res.report.count('not_in_split') == 1
    assert res.images == {'train': 2, 'val': 1}


def test_random_split_is_deterministic_and_covers_all(loose_voc, tmp_path):
    for i in range(10):
        loose_voc.add(f'img{i}', [('cat', (1, 1, 9, 9))], seed=i)
    r1 = convert(loose_voc.root, tmp_path / 'o1', val_ratio=0.3, seed=3)
    r2 = convert(loose_voc.root, tmp_path / 'o2', val_ratio=0.3, seed=3)
    assert r1.images == {'train': 7, 'val': 3}
    names = lambda r: sorted(im['file_name'] for im in load_coco(r.ann_files['val'])['images'])  # noqa: E731
    assert names(r1) == names(r2)


def test_filename_mismatch_resolved_by_stem(voc, tmp_path):
    voc.add('a', [('cat', (1, 1, 9, 9))], filename='something_else.png')
    res = convert(voc.root, tmp_path / 'out')
    assert res.report.count('filename_mismatch') == 1 and res.total_images == 1


def test_difficult_policy(voc, tmp_path):
    voc.add('a', [('cat', (1, 1, 9, 9)), ('cat', (2, 2, 9, 9))], difficult=[False, True])
    _, anns = all_anns(convert(voc.root, tmp_path / 'k'))
    assert len(anns) == 2 and not any(a['iscrowd'] for a in anns)
    res = convert(voc.root, tmp_path / 'i', difficult='ignore')
    _, anns = all_anns(res)
    assert sorted(a['iscrowd'] for a in anns) == [0, 1]
    res = convert(voc.root, tmp_path / 'd', difficult='drop')
    assert res.total_boxes == 1 and res.report.count('difficult_dropped') == 1


def test_cli_summary_lists_counts_and_drops(voc, tmp_path, capsys):
    voc.add('a', [('cat', (1, 1, 9, 9)), ('cat', (4, 4, 4, 4))])
    voc.add('b', [('dog', (1, 1, 9, 9))], mode='L', seed=1)
    assert convert_main([str(voc.root), '--out', str(tmp_path / 'out'), '--val-ratio', '0.5']) == 0
    out = capsys.readouterr().out
    assert 'zero or negative width' in out and 'a.xml object 2' in out
    assert 'greyscale' in out
    assert 'boxes:  3 in source = 2 written + 1 dropped' in out
    assert (tmp_path / 'out' / 'conversion_report.json').is_file()
