"""Read Pascal VOC XML datasets into :class:`~smnas.data.convert.RawSample` objects.

Two layouts are recognised:

* the VOC layout: ``Annotations/*.xml``, ``JPEGImages/*`` and optional split lists
  ``ImageSets/Main/{train,val,trainval,test}.txt``;
* loose folders: XML files and images in one folder, or in two folders (for example
  ``annotations/`` and ``images/``), given explicitly or found by common names.
"""
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Dict, List, Optional, Tuple

from .convert import DatasetError, RawObject, RawSample
from .images import IMAGE_EXTENSIONS, find_image
from .report import ConversionReport

_XML_DIR_NAMES = ('Annotations', 'annotations', 'Annotation', 'xml', 'labels')
_IMG_DIR_NAMES = ('JPEGImages', 'images', 'Images', 'imgs', 'img')


def _text(node: Optional[ET.Element], tag: str) -> Optional[str]:
    child = node.find(tag) if node is not None else None
    if child is None or child.text is None:
        return None
    return child.text.strip()


def _int_or_none(value: Optional[str]) -> Optional[int]:
    try:
        return int(float(value)) if value not in (None, '') else None
    except ValueError:
        return None


def parse_voc_xml(path: Path) -> Tuple[Optional[str], Optional[Tuple[int, int]], List[RawObject]]:
    """Parse one VOC XML file.

    Args:
        path: the XML file.

    Returns:
        ``(filename, (width, height) or None, objects)``: the image name the file
        states, the stated size (None when missing or unreadable), and one
        :class:`RawObject` per ``<object>`` with pixel ``xyxy`` coordinates.

    Raises:
        ET.ParseError: the file is not well-formed XML.
        ValueError: the root element is not ``<annotation>``.
    """
    root = ET.parse(path).getroot()
    if root.tag != 'annotation':
        raise ValueError(f'root element is <{root.tag}>, expected <annotation>')
    filename = _text(root, 'filename')
    size_node = root.find('size')
    w, h = _int_or_none(_text(size_node, 'width')), _int_or_none(_text(size_node, 'height'))
    size = (w, h) if w is not None and h is not None else None
    objects = []
    for i, obj in enumerate(root.findall('object'), start=1):
        where = f'{path.name} object {i}'
        name = _text(obj, 'name')
        difficult = _text(obj, 'difficult') in ('1', 'true', 'True')
        bnd = obj.find('bndbox')
        coords = None
        if bnd is not None:
            vals = [_text(bnd, t) for t in ('xmin', 'ymin', 'xmax', 'ymax')]
            coords = vals if all(v is not None for v in vals) else None
        issue = None
        if not name:
            issue, name = 'malformed_box', None
        elif coords is None:
            issue = 'malformed_box'
        objects.append(RawObject(name=name, coords=coords, where=where, difficult=difficult,
                                 issue=issue))
    return filename, size, objects


def _first_dir(root: Path, names) -> Optional[Path]:
    for n in names:
        if (root / n).is_dir():
            return root / n
    return None


def _read_split_lists(root: Path) -> Optional[Dict[str, List[str]]]:
    sets = root / 'ImageSets' / 'Main'
    if not sets.is_dir():
        return None
    lists = {}
    for name in ('train', 'val', 'trainval', 'test'):
        f = sets / f'{name}.txt'
        if f.is_file():
            ids = [ln.split()[0] for ln in f.read_text().splitlines() if ln.strip()]
            lists[name] = ids
    if not lists:
        return None
    # trainval is only used when train/val lists are absent.
    if 'train' in lists or 'val' in lists:
        lists.pop('trainval', None)
    elif 'trainval' in lists:
        lists['train'] = lists.pop('trainval')
    return lists


def read_voc(root: Path, images: Optional[Path] = None, annotations: Optional[Path] = None,
             report: Optional[ConversionReport] = None) -> Tuple[List[RawSample], bool, str]:
    """Find and parse every VOC sample below ``root``.

    Args:
        root: dataset folder (VOC layout, or loose folders).
        images: image folder, overriding detection.
        annotations: XML folder, overriding detection.
        report: receives split-list problems (an id in several lists).

    Returns:
        ``(samples, splits_defined, description)``.

    Raises:
        DatasetError: no XML files found.
    """
    root = Path(root)
    report = report if report is not None else ConversionReport()
    xml_dir = Path(annotations) if annotations else (_first_dir(root, _XML_DIR_NAMES) or root)
    img_dir = Path(images) if images else (_first_dir(root, _IMG_DIR_NAMES) or xml_dir)
    xml_files = sorted(p for p in xml_dir.rglob('*') if p.suffix.lower() == '.xml' and p.is_file())
    if not xml_files:
        raise DatasetError(f'no VOC XML files found in {xml_dir}')
    split_lists = _read_split_lists(root)
    split_of: Dict[str, str] = {}
    if split_lists:
        for split in ('train', 'val', 'test'):
            for sid in split_lists.get(split, []):
                if sid in split_of and split_of[sid] != split:
                    report.add('duplicate_in_splits', f'{sid} ({split_of[sid]}, {split})')
                    continue
                split_of[sid] = split

    samples: List[RawSample] = []
    used_images = set()
    for xml in xml_files:
        rel = xml.relative_to(xml_dir).with_suffix('')
        key = rel.as_posix()
        sub_img_dir = img_dir / rel.parent
        try:
            filename, size, objects = parse_voc_xml(xml)
        except (ET.ParseError, ValueError) as e:
            image = find_image(sub_img_dir, xml.stem)
            if image is not None:  # its labels are unknown: never keep it as a background image
                used_images.add(image.resolve())
            samples.append(RawSample(key=key, out_name=key, image_path=image, label_path=xml,
                                     parse_error=str(e)))
            continue
        image = find_image(sub_img_dir, xml.stem, filename)
        mismatch = image is not None and filename is not None and image.name != Path(filename).name
        if image is not None:
            used_images.add(image.resolve())
        out_name = (rel.parent / image.name).as_posix() if image is not None else key
        samples.append(RawSample(
            key=key, out_name=out_name, image_path=image, label_path=xml,
            expected_image=str(sub_img_dir / (Path(filename).name if filename else xml.stem)),
            declared_size=size, objects=objects,
            split=split_of.get(xml.stem) if split_lists else None,
            filename_mismatch=mismatch, apply_exif=None))

    keys = {s.key for s in samples}
    for img in sorted(p for p in img_dir.rglob('*') if p.suffix.lower() in IMAGE_EXTENSIONS):
        if img.resolve() in used_images:
            continue
        rel = img.relative_to(img_dir)
        key = rel.with_suffix('').as_posix()
        if key in keys:  # e.g. a.jpg and a.png next to a.xml: a second image of one sample
            key = rel.as_posix()
        samples.append(RawSample(key=key, out_name=rel.as_posix(), image_path=img, label_path=None,
                                 split=split_of.get(img.stem) if split_lists else None))
    desc = f'VOC dataset {root} (annotations {xml_dir}, images {img_dir}' + \
        (', splits from ImageSets/Main)' if split_lists else ')')
    return samples, bool(split_lists), desc
