"""Read YOLO txt-label datasets into :class:`~smnas.data.convert.RawSample` objects.

Recognised layouts: ``images/<split>/`` + ``labels/<split>/`` (Ultralytics),
``images/`` + ``labels/``, or images and ``.txt`` files side by side (Darknet).
Class names come from ``--classes``, ``data.yaml``/``dataset.yaml`` (``names`` as a
list or an id -> name mapping), or ``classes.txt``/``obj.names``/``classes.names``.
Label lines are ``class cx cy w h`` relative to the image size; polygon lines
(``class x1 y1 x2 y2 ...``, YOLO segmentation) are reduced to their bounding box.
"""
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import yaml

from .convert import DatasetError, RawObject, RawSample
from .images import IMAGE_EXTENSIONS, find_image

_SPLIT_ALIASES = {'train': 'train', 'training': 'train', 'val': 'val', 'valid': 'val',
                  'validation': 'val', 'test': 'test', 'testing': 'test'}
_NAME_FILES = ('classes.txt', 'obj.names', 'classes.names', 'names.txt')


def read_class_names(root: Path) -> Optional[List[str]]:
    """Find class names in the usual YOLO places below ``root``; None if none.

    Raises:
        DatasetError: a names file exists but cannot be used.
    """
    for yml in ('data.yaml', 'dataset.yaml', 'data.yml'):
        f = root / yml
        if f.is_file():
            try:
                data = yaml.safe_load(f.read_text()) or {}
            except yaml.YAMLError as e:
                raise DatasetError(f'{f}: not valid YAML ({e})') from e
            names = data.get('names') if isinstance(data, dict) else None
            if isinstance(names, dict):
                try:
                    ids = sorted(int(k) for k in names)
                except ValueError as e:
                    raise DatasetError(f'{f}: names keys must be class ids, got {list(names)}') from e
                if ids != list(range(len(ids))):
                    raise DatasetError(f'{f}: class ids must be 0..N-1, got {ids}')
                return [str(names[k] if k in names else names[str(k)]).strip() for k in ids]
            if isinstance(names, list):
                return [str(n).strip() for n in names]
    for base in (root, root / 'labels'):
        for name in _NAME_FILES:
            f = base / name
            if f.is_file():
                return [ln.strip() for ln in f.read_text().splitlines() if ln.strip()]
    return None


def parse_yolo_txt(path: Path, classes: List[str]) -> List[RawObject]:
    """Parse one YOLO label file.

    Args:
        path: the ``.txt`` file.
        classes: class names indexed by class id.

    Returns:
        One :class:`RawObject` per non-empty line with normalised ``cxcywh``
        coordinates; malformed lines and unknown ids carry an ``issue``.
    """
    objects = []
    for ln, line in enumerate(path.read_text(errors='replace').splitlines(), start=1):
        parts = line.split()
        if not parts:
            continue
        where = f'{path.name}:{ln}'
        try:
            cls_f = float(parts[0])
            vals = [float(v) for v in parts[1:]]
        except ValueError:
            objects.append(RawObject(name=None, coords=None, where=where, issue='malformed_box'))
            continue
        if cls_f != int(cls_f) or len(vals) < 4 or (len(vals) > 4 and len(vals) % 2):
            objects.append(RawObject(name=None, coords=None, where=where, issue='malformed_box'))
            continue
        cls = int(cls_f)
        name = classes[cls] if 0 <= cls < len(classes) else f'<class id {cls}>'
        fixes = []
        if len(vals) == 4:
            coords = vals
        else:  # polygon: x1 y1 x2 y2 ... -> its bounding box, as cx cy w h
            xs, ys = vals[0::2], vals[1::2]
            x1, x2, y1, y2 = min(xs), max(xs), min(ys), max(ys)
            coords = [(x1 + x2) / 2, (y1 + y2) / 2, x2 - x1, y2 - y1]
            fixes.append('polygon_label')
        objects.append(RawObject(name=name, coords=coords, where=where, fixes=fixes))
    return objects


def _pairs(root: Path) -> List[Tuple[Optional[str], Path, Path]]:
    """(split or None, image folder, label folder) for the recognised layouts."""
    img_root, lbl_root = root / 'images', root / 'labels'
    if img_root.is_dir() and lbl_root.is_dir():
        subs = [d for d in sorted(img_root.iterdir()) if d.is_dir() and d.name.lower() in _SPLIT_ALIASES]
        if subs:
            return [(_SPLIT_ALIASES[d.name.lower()], d, lbl_root / d.name) for d in subs]
        return [(None, img_root, lbl_root)]
    # Ultralytics' other layout: <split>/images + <split>/labels.
    subs = [d for d in sorted(root.iterdir()) if d.is_dir() and d.name.lower() in _SPLIT_ALIASES
            and (d / 'images').is_dir()]
    if subs:
        return [(_SPLIT_ALIASES[d.name.lower()], d / 'images', d / 'labels') for d in subs]
    return [(None, root, root)]


def read_yolo(root: Path, classes: Optional[List[str]] = None
              ) -> Tuple[List[RawSample], bool, str, List[str]]:
    """Find and parse every YOLO sample below ``root``.

    Args:
        root: dataset folder.
        classes: class names by id; read from the dataset when None.

    Returns:
        ``(samples, splits_defined, description, classes)``; when no names are
        found anywhere, classes are named ``class_0``, ``class_1``... (and said so
        in the description).

    Raises:
        DatasetError: no images and no label files found.
    """
    root = Path(root)
    note = ''
    if classes is None:
        classes = read_class_names(root)
    pairs = _pairs(root)
    samples: List[RawSample] = []
    label_files: Dict[Path, Tuple[Optional[str], Path, Path]] = {}
    for split, img_dir, lbl_dir in pairs:
        if lbl_dir.is_dir():
            for f in sorted(lbl_dir.rglob('*.txt')):
                if f.name in _NAME_FILES:
                    continue
                label_files[f] = (split, img_dir, lbl_dir)
    if classes is None:
        max_id = -1
        for f in label_files:
            for line in f.read_text(errors='replace').splitlines():
                parts = line.split()
                try:
                    max_id = max(max_id, int(float(parts[0]))) if parts else max_id
                except ValueError:
                    pass
        classes = [f'class_{i}' for i in range(max_id + 1)]
        note = ' (no class names found: named class_<id>; pass --classes to name them)'
    used = set()
    for f, (split, img_dir, lbl_dir) in label_files.items():
        rel = f.relative_to(lbl_dir).with_suffix('')
        sub = img_dir / rel.parent
        image = find_image(sub, f.stem)
        if image is not None:
            used.add(image.resolve())
        prefix = f'{split}/' if split else ''
        key = prefix + rel.as_posix()
        samples.append(RawSample(
            key=key, out_name=prefix + ((rel.parent / image.name).as_posix() if image else rel.as_posix()),
            image_path=image, label_path=f, expected_image=str(sub / f'{f.stem}.<image>'),
            objects=parse_yolo_txt(f, classes), split=split, box_format='cxcywh_norm',
            apply_exif=True))
    for split, img_dir, _ in pairs:
        for img in sorted(p for p in img_dir.rglob('*') if p.suffix.lower() in IMAGE_EXTENSIONS):
            if img.resolve() in used:
                continue
            rel = img.relative_to(img_dir)
            prefix = f'{split}/' if split else ''
            samples.append(RawSample(key=prefix + rel.as_posix(), out_name=prefix + rel.as_posix(),
                                     image_path=img, label_path=None, split=split,
                                     box_format='cxcywh_norm', apply_exif=True))
    if not samples:
        raise DatasetError(f'no images or YOLO label files found in {root}')
    splits_defined = any(p[0] is not None for p in pairs)
    return samples, splits_defined, f'YOLO dataset {root}{note}', classes
