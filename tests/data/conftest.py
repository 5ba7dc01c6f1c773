"""Builders of tiny on-disk VOC / YOLO datasets with chosen quirks."""
import json
from pathlib import Path
from typing import Iterable, Optional, Sequence, Tuple

import numpy as np
import pytest
from PIL import Image


def write_image(path: Path, size=(40, 30), mode='RGB', fmt='JPEG', seed=0, exif_orientation=None):
    """Write a random image of ``size`` (w, h) in ``mode`` and ``fmt`` to ``path``."""
    rng = np.random.default_rng(seed)
    w, h = size
    arr = rng.integers(0, 256, size=(h, w, 3), dtype=np.uint8)
    im = Image.fromarray(arr, 'RGB')
    if mode == 'RGBA':
        im = im.convert('RGBA')
    elif mode == 'P':
        im = im.convert('P', palette=Image.ADAPTIVE, colors=16)
    elif mode == 'L':
        im = im.convert('L')
    path.parent.mkdir(parents=True, exist_ok=True)
    kwargs = {}
    if exif_orientation is not None:
        exif = Image.Exif()
        exif[0x0112] = exif_orientation
        kwargs['exif'] = exif
    im.save(path, format=fmt, **kwargs)
    return path


def voc_xml(filename: Optional[str], size: Optional[Tuple[int, int]],
            objects: Iterable[Tuple[str, Sequence]], difficult: Sequence[bool] = ()) -> str:
    """A VOC annotation; ``objects`` are (name, (xmin, ymin, xmax, ymax)) pairs."""
    parts = ['<annotation>', '<folder>JPEGImages</folder>']
    if filename is not None:
        parts.append(f'<filename>{filename}</filename>')
    if size is not None:
        parts.append(f'<size><width>{size[0]}</width><height>{size[1]}</height><depth>3</depth></size>')
    for i, (name, box) in enumerate(objects):
        d = int(difficult[i]) if i < len(difficult) else 0
        parts.append(f'<object><name>{name}</name><difficult>{d}</difficult><bndbox>'
                     f'<xmin>{box[0]}</xmin><ymin>{box[1]}</ymin><xmax>{box[2]}</xmax>'
                     f'<ymax>{box[3]}</ymax></bndbox></object>')
    parts.append('</annotation>')
    return '\n'.join(parts)


class VocBuilder:
    """Writes a VOC-layout dataset under ``root``."""

    def __init__(self, root: Path, layout: str = 'voc'):
        self.root = root
        if layout == 'voc':
            self.ann_dir, self.img_dir = root / 'Annotations', root / 'JPEGImages'
        else:  # loose: annotations/ + images/
            self.ann_dir, self.img_dir = root / 'annotations', root / 'images'
        self.ann_dir.mkdir(parents=True, exist_ok=True)
        self.img_dir.mkdir(parents=True, exist_ok=True)

    def add(self, stem, objects, size=(40, 30), declared=None, image=True, mode='RGB', fmt='JPEG',
            ext='.jpg', filename=None, difficult=(), exif_orientation=None, seed=0):
        """Add one sample; ``declared`` defaults to ``size`` (use 'missing' or (0, 0))."""
        name = filename if filename is not None else f'{stem}{ext}'
        if image:
            write_image(self.img_dir / f'{stem}{ext}', size, mode, fmt, seed, exif_orientation)
        decl = size if declared is None else (None if declared == 'missing' else declared)
        (self.ann_dir / f'{stem}.xml').write_text(voc_xml(name, decl, objects, difficult))

    def splits(self, **lists):
        sets = self.root / 'ImageSets' / 'Main'
        sets.mkdir(parents=True, exist_ok=True)
        for split, ids in lists.items():
            (sets / f'{split}.txt').write_text('\n'.join(ids) + '\n')


@pytest.fixture
def voc(tmp_path):
    return VocBuilder(tmp_path / 'voc')


@pytest.fixture
def loose_voc(tmp_path):
    return VocBuilder(tmp_path / 'loose', layout='loose')


def load_coco(path: Path) -> dict:
    return json.loads(Path(path).read_text())
