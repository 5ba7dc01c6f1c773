"""Format-independent half of dataset conversion: samples in, COCO JSON out.

Format readers (:mod:`smnas.data.voc`, :mod:`smnas.data.yolo`) turn label files into
:class:`RawSample` objects without judging them; :func:`convert_samples` checks every
image and box, fixes or drops what is wrong, records each decision in a
:class:`~smnas.data.report.ConversionReport`, and writes one COCO JSON per split plus a
normalised copy of the images.
"""
import math
import random
import time
from collections import Counter, OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

from ..utils import atomic_write_json, collect_env_versions
from .images import ImageError, ImageProbe, normalise_image, oriented_size, probe_image
from .report import ConversionReport

SPLIT_ORDER = ('train', 'val', 'test')


class DatasetError(Exception):
    """A dataset problem that stops the conversion; the message says what and where."""


@dataclass
class RawObject:
    """One object as a label file states it.

    Attributes:
        name: class name, or None when the label gives none that can be resolved.
        coords: ``(x1, y1, x2, y2)`` in pixels for ``box_format='xyxy'``, or
            ``(cx, cy, w, h)`` relative to the image size for ``'cxcywh_norm'``;
            None when the coordinates could not be read.
        where: location for reports, e.g. ``'a.xml object 3'`` or ``'a.txt:4'``.
        difficult: the VOC ``difficult`` flag.
        issue: an issue kind the reader already found (``'malformed_box'``...).
        fixes: issue kinds the reader already applied (``'polygon_label'``).
    """
    name: Optional[str]
    coords: Optional[Sequence[float]]
    where: str
    difficult: bool = False
    issue: Optional[str] = None
    fixes: List[str] = field(default_factory=list)


@dataclass
class RawSample:
    """One image and its labels as found in the source dataset.

    Attributes:
        key: unique id of the sample (relative path without extension).
        out_name: file name to write under ``images/`` (relative path).
        image_path: the image file, or None when none was found.
        label_path: the label file, or None for an image without labels.
        expected_image: what the label file points to, for error messages.
        declared_size: (width, height) stated by the label file, if any.
        objects: the objects of the label file.
        split: the split the source assigns, or None.
        box_format: ``'xyxy'`` (pixels) or ``'cxcywh_norm'`` (YOLO).
        apply_exif: rotate EXIF-rotated images (True), keep stored pixels
            (False), or decide from ``declared_size`` (None).
        parse_error: why the label file could not be parsed, if it could not.
        filename_mismatch: the label names another file than the one used.
    """
    key: str
    out_name: str
    image_path: Optional[Path]
    label_path: Optional[Path]
    expected_image: str = ''
    declared_size: Optional[Tuple[int, int]] = None
    objects: List[RawObject] = field(default_factory=list)
    split: Optional[str] = None
    box_format: str = 'xyxy'
    apply_exif: Optional[bool] = None
    parse_error: Optional[str] = None
    filename_mismatch: bool = False


@dataclass
class ConversionOptions:
    """Policies of :func:`convert_samples`.

    Attributes:
        classes: class names in category-id order; None collects them from the
            labels (sorted).
        val_ratio: fraction of images for ``val`` when the source has no splits.
        test_ratio: fraction for ``test`` when the source has no splits.
        seed: seed of that random split.
        skip_missing: skip and report label files whose image is missing, instead
            of stopping with an error.
        skip_corrupt: skip and report undecodable images, instead of stopping.
        drop_unlabeled: drop images without a label file (default: keep them as
            background images).
        difficult: 'keep', 'ignore' (iscrowd=1) or 'drop' VOC difficult objects.
        link: symlink clean images instead of copying them.
        decode: fully decode every image to catch truncated files.
    """
    classes: Optional[List[str]] = None
    val_ratio: float = 0.2
    test_ratio: float = 0.0
    seed: int = 0
    skip_missing: bool = False
    skip_corrupt: bool = False
    drop_unlabeled: bool = False
    difficult: str = 'keep'
    link: bool = False
    decode: bool = True


@dataclass
class ConversionResult:
    """What was converted, for the summary and for tests.

    Attributes:
        out_dir: output folder.
        classes: class names in category-id order.
        ann_files: split -> written COCO JSON path.
        images: split -> number of images written.
        boxes: split -> Counter of class name -> boxes written.
        source: counts in the source (``label_files``, ``images``, ``boxes``).
        boxes_in_dropped_images: boxes that went with a dropped image.
        report: the issue report.
    """
    out_dir: Path
    classes: List[str]
    ann_files: Dict[str, Path]
    images: Dict[str, int]
    boxes: Dict[str, Counter]
    source: Dict[str, int]
    boxes_in_dropped_images: int
    report: ConversionReport
    source_desc: str = ''

    @property
    def total_images(self) -> int:
        """Images written, over every split."""
        return sum(self.images.values())

    @property
    def total_boxes(self) -> int:
        """Boxes written, over every split and class."""
        return sum(sum(c.values()) for c in self.boxes.values())


def _decide_orientation(sample: RawSample, probe: ImageProbe) -> bool:
    if probe.orientation in (0, 1):
        return False
    if sample.apply_exif is not None:
        return sample.apply_exif
    # The annotator saw the rotated view iff the stated size is the rotated one.
    return (sample.declared_size is not None and sample.declared_size == oriented_size(probe)
            and oriented_size(probe) != probe.size)


def _to_xyxy(obj: RawObject, box_format: str, size: Tuple[int, int]) -> Optional[List[float]]:
    if obj.coords is None or len(obj.coords) != 4:
        return None
    try:
        vals = [float(v) for v in obj.coords]
    except (TypeError, ValueError):
        return None
    if not all(math.isfinite(v) for v in vals):
        return None
    if box_format == 'xyxy':
        return vals
    if box_format == 'cxcywh_norm':
        w_img, h_img = size
        cx, cy, w, h = vals
        return [(cx - w / 2) * w_img, (cy - h / 2) * h_img,
                (cx + w / 2) * w_img, (cy + h / 2) * h_img]
    raise ValueError(f'unknown box format {box_format!r}')


def _clean_box(obj: RawObject, xyxy: List[float], size: Tuple[int, int],
               report: ConversionReport) -> Optional[List[float]]:
    """Swap inverted corners, drop empty boxes, clip to the image; None if dropped."""
    x1, y1, x2, y2 = xyxy
    if x1 > x2 or y1 > y2:
        x1, x2 = min(x1, x2), max(x1, x2)
        y1, y2 = min(y1, y2), max(y1, y2)
        report.add('inverted_box', obj.where)
    if x2 - x1 <= 0 or y2 - y1 <= 0:
        report.add('zero_area_box', obj.where)
        return None
    w_img, h_img = size
    cx1, cy1 = min(max(x1, 0.0), w_img), min(max(y1, 0.0), h_img)
    cx2, cy2 = min(max(x2, 0.0), w_img), min(max(y2, 0.0), h_img)
    if cx2 - cx1 <= 0 or cy2 - cy1 <= 0:
        report.add('outside_box', obj.where)
        return None
    if (cx1, cy1, cx2, cy2) != (x1, y1, x2, y2):
        report.add('clipped_box', obj.where)
    return [cx1, cy1, cx2, cy2]


def _assign_random_splits(keys: List[str], opts: ConversionOptions) -> Dict[str, str]:
    order = sorted(keys)
    random.Random(opts.seed).shuffle(order)
    n = len(order)
    n_val = int(round(n * opts.val_ratio))
    n_test = int(round(n * opts.test_ratio))
    if n >= 2 and opts.val_ratio > 0 and n_val == 0:
        n_val = 1  # a tiny dataset still gets a validation image
    splits = {}
    for i, k in enumerate(order):
        splits[k] = 'val' if i < n_val else ('test' if i < n_val + n_test else 'train')
    return splits


def convert_samples(samples: List[RawSample], out_dir: Path, opts: ConversionOptions,
                    report: ConversionReport, source_desc: str = '',
                    splits_defined: bool = False) -> ConversionResult:
    """Check, fix and write ``samples`` as COCO JSON under ``out_dir``.

    Writes ``out_dir/images/<out_name>`` for every kept image,
    ``out_dir/annotations/instances_<split>.json`` for every non-empty split, and
    ``out_dir/conversion_report.json``. JSON files are written atomically.

    Args:
        samples: what a format reader found.
        out_dir: output folder (created).
        opts: conversion policies.
        report: receives every dropped, fixed or noted item.
        source_desc: description of the source, stored in the outputs.
        splits_defined: the source assigns splits (samples with ``split=None`` are
            then dropped as 'not in split'); otherwise a seeded random split is made.

    Returns:
        A :class:`ConversionResult`.

    Raises:
        DatasetError: a missing or corrupt image without the matching skip option,
            or nothing left to write.
    """
    out_dir = Path(out_dir)
    samples = sorted(samples, key=lambda s: s.key)
    source = dict(samples=len(samples),
                  label_files=sum(s.label_path is not None for s in samples),
                  images=sum(s.image_path is not None for s in samples),
                  boxes=sum(len(s.objects) for s in samples))
    lost_boxes = 0
    kept: List[Tuple[RawSample, ImageProbe]] = []
    for s in samples:
        if s.parse_error is not None:
            report.add('broken_annotation', f'{s.label_path} ({s.parse_error})')
            continue
        if s.image_path is None:
            if not opts.skip_missing:
                raise DatasetError(
                    f'missing image: {s.label_path} refers to {s.expected_image or s.key}, which '
                    f'does not exist. Fix the path, or pass --skip-missing to skip and report '
                    f'such label files.')
            report.add('missing_image', f'{s.label_path} -> {s.expected_image or s.key}')
            lost_boxes += len(s.objects)
            continue
        if s.label_path is None:
            if opts.drop_unlabeled:
                report.add('unlabeled_image_dropped', str(s.image_path))
                continue
            report.add('unlabeled_image', str(s.image_path))
        if splits_defined and s.split is None:
            report.add('not_in_split', str(s.image_path))
            lost_boxes += len(s.objects)
            continue
        try:
            probe = probe_image(s.image_path, decode=opts.decode)
        except ImageError as e:
            if not opts.skip_corrupt:
                raise DatasetError(f'corrupt image: {e}. Replace the file, or pass --skip-corrupt '
                                   f'to skip and report such images.') from e
            report.add('corrupt_image', str(e))
            lost_boxes += len(s.objects)
            continue
        if s.filename_mismatch:
            report.add('filename_mismatch', f'{s.label_path} -> {s.image_path.name}')
        kept.append((s, probe))

    if opts.classes is not None:
        classes = list(opts.classes)
    else:
        classes = sorted({o.name for s, _ in kept for o in s.objects
                          if o.name is not None and o.issue is None})
    if len(set(classes)) != len(classes):
        raise DatasetError(f'class list has duplicates: {classes}')
    cat_ids = {name: i + 1 for i, name in enumerate(classes)}

    if splits_defined:
        split_of = {s.key: s.split for s, _ in kept}
    else:
        split_of = _assign_random_splits([s.key for s, _ in kept], opts)

    coco: Dict[str, dict] = OrderedDict()
    boxes: Dict[str, Counter] = {}
    ann_id = 0
    for img_id, (s, probe) in enumerate(kept, start=1):
        split = split_of[s.key]
        apply_rot = _decide_orientation(s, probe)
        size = oriented_size(probe) if apply_rot else probe.size
        for fix in probe.fixes:
            if fix == 'exif_rotated' and not apply_rot:
                fix = 'exif_ignored'  # stored pixels kept; re-encoding drops the tag
            report.add(fix, str(s.image_path))
        if s.label_path is not None:
            if not s.declared_size or min(s.declared_size) <= 0:
                if s.box_format == 'xyxy':
                    report.add('size_missing', str(s.label_path))
            elif tuple(s.declared_size) != tuple(size):
                report.add('size_mismatch', f'{s.label_path} ({s.declared_size[0]}x{s.declared_size[1]}'
                           f' vs image {size[0]}x{size[1]})')
        out_name = s.out_name
        if probe.needs_reencode and Path(out_name).suffix.lower() not in ('.jpg', '.jpeg', '.png'):
            out_name = str(Path(out_name).with_suffix('.png'))
        normalise_image(probe, out_dir / 'images' / out_name, apply_orientation=apply_rot,
                        link=opts.link)

        entry = coco.setdefault(split, dict(images=[], annotations=[]))
        entry['images'].append(dict(id=img_id, file_name=out_name, width=size[0], height=size[1]))
        counter = boxes.setdefault(split, Counter())
        for obj in s.objects:
            if obj.issue is not None:
                report.add(obj.issue, obj.where)
                continue
            if obj.name not in cat_ids:
                report.add('unknown_class', f'{obj.where} ({obj.name!r})')
                continue
            xyxy = _to_xyxy(obj, s.box_format, size)
            if xyxy is None:
                report.add('malformed_box', obj.where)
                continue
            box = _clean_box(obj, xyxy, size, report)
            if box is None:
                continue
            for fix in obj.fixes:
                report.add(fix, obj.where)
            iscrowd = 0
            if obj.difficult and opts.difficult == 'drop':
                report.add('difficult_dropped', obj.where)
                continue
            if obj.difficult and opts.difficult == 'ignore':
                report.add('difficult_ignored', obj.where)
                iscrowd = 1
            ann_id += 1
            x1, y1, x2, y2 = box
            w, h = x2 - x1, y2 - y1
            entry['annotations'].append(dict(
                id=ann_id, image_id=img_id, category_id=cat_ids[obj.name],
                bbox=[round(x1, 2), round(y1, 2), round(w, 2), round(h, 2)],
                area=round(w * h, 2), iscrowd=iscrowd))
            counter[obj.name] += 1

    if not coco:
        raise DatasetError(f'nothing to write: no usable image in {source_desc or "the source"}')
    categories = [dict(id=i, name=n, supercategory='none') for n, i in cat_ids.items()]
    info = dict(description=f'converted by smnas from {source_desc}',
                date_created=time.strftime('%Y-%m-%dT%H:%M:%S'),
                versions=collect_env_versions())
    ann_files = {}
    for split in sorted(coco, key=lambda x: SPLIT_ORDER.index(x) if x in SPLIT_ORDER else 99):
        path = out_dir / 'annotations' / f'instances_{split}.json'
        atomic_write_json(path, dict(info=info, images=coco[split]['images'],
                                     annotations=coco[split]['annotations'],
                                     categories=categories))
        ann_files[split] = path
    result = ConversionResult(
        out_dir=out_dir, classes=classes, ann_files=ann_files,
        images={k: len(v['images']) for k, v in coco.items()}, boxes=boxes, source=source,
        boxes_in_dropped_images=lost_boxes, report=report, source_desc=source_desc)
    atomic_write_json(out_dir / 'conversion_report.json', dict(
        source=source_desc, source_counts=source, classes=classes,
        options=vars(opts), splits={k: dict(images=result.images[k], boxes=dict(boxes.get(k, {})),
                                            ann_file=str(ann_files[k])) for k in ann_files},
        boxes_in_dropped_images=lost_boxes, versions=info['versions'], **report.to_dict()),
        indent=1)
    return result


def format_summary(result: ConversionResult) -> str:
    """Render a conversion result as the printed summary.

    Args:
        result: what :func:`convert_samples` returned.

    Returns:
        Multi-line text: source counts, images and boxes per split and class, every
        dropped or fixed item, and the accounting of boxes.
    """
    splits = list(result.ann_files)
    src = result.source
    lines = [f'Converted {result.source_desc} -> {result.out_dir}',
             f'  source: {src["label_files"]} label files, {src["images"]} images found, '
             f'{src["boxes"]} boxes',
             '',
             f'  {"class":<20}' + ''.join(f'{s:>9}' for s in splits) + f'{"total":>9}']
    for name in result.classes:
        per = [result.boxes.get(s, Counter())[name] for s in splits]
        lines.append(f'  {name:<20}' + ''.join(f'{n:>9}' for n in per) + f'{sum(per):>9}')
    box_tot = [sum(result.boxes.get(s, Counter()).values()) for s in splits]
    lines.append(f'  {"boxes":<20}' + ''.join(f'{n:>9}' for n in box_tot) + f'{sum(box_tot):>9}')
    img_tot = [result.images[s] for s in splits]
    lines.append(f'  {"images":<20}' + ''.join(f'{n:>9}' for n in img_tot) + f'{sum(img_tot):>9}')
    lines.append('')
    issue_lines = result.report.format_lines()
    if issue_lines:
        lines.append('  dropped / fixed / noted:')
        lines.extend(issue_lines)
    else:
        lines.append('  nothing dropped or fixed')
    rep = result.report
    lines.append('')
    lines.append(f'  images: {src["samples"]} images or label files in source = '
                 f'{result.total_images} written + {rep.dropped("image")} dropped')
    lines.append(f'  boxes:  {src["boxes"]} in source = {result.total_boxes} written + '
                 f'{rep.dropped("box")} dropped + {result.boxes_in_dropped_images} with dropped images')
    for split, path in result.ann_files.items():
        lines.append(f'  {split:<6} {path}')
    for note in rep.notes:
        lines.append(f'  note: {note}')
    return '\n'.join(lines)
