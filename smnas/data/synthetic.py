"""Deterministic synthetic multi-class detection dataset, written as COCO JSON.

The embedded default dataset of the quickstart and the tests: shapes of several
classes with varied size, aspect, rotation, colour and texture, on cluttered
backgrounds, partly occluding each other. Boxes are the extent of each object's
*visible* pixels, as in COCO. The same arguments always give the same files.

Command line (``smnas-make-synthetic``)::

    python -m smnas.data.synthetic --out data/synthetic --train 200 --val 50 --size 320 240
"""
import argparse
import json
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import List, Optional, Sequence, Tuple

import numpy as np
from PIL import Image, ImageDraw

from ..utils import atomic_write_json, collect_env_versions

SHAPES = ('circle', 'rectangle', 'triangle', 'star', 'cross', 'ring')
DEFAULT_CLASSES = ('circle', 'rectangle', 'triangle', 'star', 'cross')


@dataclass
class SyntheticConfig:
    """Parameters of the synthetic dataset.

    Attributes:
        classes: shape classes to draw (a subset of :data:`SHAPES`), in id order.
        image_size: (width, height) in pixels.
        num_train: training images.
        num_val: validation images.
        objects: (min, max) annotated objects per image.
        scale: (min, max) object size as a fraction of the shorter image side.
        max_occlusion: largest fraction of an object that later objects may hide.
        clutter: number of unannotated distractor strokes per image (max).
        class_colour: paint every object in its class's own colour (jittered) instead
            of a random colour and texture: shape is then not the only cue, and small
            detectors learn the set in hundreds of iterations (the quickstart's use).
        colour_groups: with ``class_colour``, only this many colours (0: one per
            class): class ``i`` (of ``classes``) takes colour ``i % colour_groups``, so
            colour tells a group apart and only shape tells the classes of a group apart
            (a partial cue: learnable, but still capacity-sensitive).
        seed: seed of everything.
    """
    classes: Sequence[str] = DEFAULT_CLASSES
    image_size: Tuple[int, int] = (320, 240)
    num_train: int = 200
    num_val: int = 50
    objects: Tuple[int, int] = (1, 6)
    scale: Tuple[float, float] = (0.12, 0.45)
    max_occlusion: float = 0.5
    clutter: int = 12
    class_colour: bool = False
    colour_groups: int = 0
    seed: int = 0

    def validate(self) -> None:
        """Raise ValueError naming the first invalid parameter."""
        unknown = [c for c in self.classes if c not in SHAPES]
        if unknown or not self.classes:
            raise ValueError(f'classes must be a non-empty subset of {SHAPES}, got {list(self.classes)}')
        if len(set(self.classes)) != len(self.classes):
            raise ValueError(f'classes has duplicates: {list(self.classes)}')
        w, h = self.image_size
        if w < 32 or h < 32:
            raise ValueError(f'image_size must be at least 32x32, got {w}x{h}')
        if not 1 <= self.objects[0] <= self.objects[1]:
            raise ValueError(f'objects must be (min, max) with 1 <= min <= max, got {self.objects}')
        if not 0 < self.scale[0] <= self.scale[1] <= 1:
            raise ValueError(f'scale must satisfy 0 < min <= max <= 1, got {self.scale}')
        if self.num_train < 1 or self.num_val < 0:
            raise ValueError('need num_train >= 1 and num_val >= 0')
        if self.colour_groups and not (self.class_colour and 1 <= self.colour_groups <= len(self.classes)):
            raise ValueError(f'colour_groups needs class_colour=True and 1 to {len(self.classes)} groups '
                             f'(the class count), got {self.colour_groups}')


def _random_colour(rng: np.random.Generator) -> np.ndarray:
    return rng.integers(0, 256, size=3).astype(np.float32)


def _background(rng: np.random.Generator, w: int, h: int) -> np.ndarray:
    """Gradient plus noise, sometimes with a large low-contrast pattern."""
    c1, c2 = _random_colour(rng), _random_colour(rng)
    angle = rng.uniform(0, 2 * np.pi)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    t = (np.cos(angle) * xx / w + np.sin(angle) * yy / h)
    t = (t - t.min()) / max(float(t.max() - t.min()), 1e-6)
    img = c1[None, None] * (1 - t[..., None]) + c2[None, None] * t[..., None]
    if rng.random() < 0.5:
        period = rng.uniform(8, 40)
        img += 20 * np.sin(2 * np.pi * (xx + yy * rng.uniform(-1, 1)) / period)[..., None]
    img += rng.normal(0, rng.uniform(2, 12), size=img.shape)
    return img


# One colour per shape (RGB), far apart in hue.
_CLASS_COLOURS = np.array([(230, 40, 40), (40, 200, 40), (40, 80, 230), (230, 200, 30), (200, 40, 220),
                           (30, 210, 210)], dtype=np.float32)


def _class_colour(rng: np.random.Generator, index: int, w: int, h: int) -> np.ndarray:
    """A (h, w, 3) patch in the class's colour, jittered per object, with pixel noise."""
    c = np.clip(_CLASS_COLOURS[index] + rng.normal(0, 15, size=3), 0, 255)
    return np.broadcast_to(c, (h, w, 3)) + rng.normal(0, 4, size=(h, w, 3))


def _texture(rng: np.random.Generator, w: int, h: int) -> np.ndarray:
    """A (h, w, 3) texture: solid, stripes, checker, noise or gradient."""
    c1 = _random_colour(rng)
    c2 = np.clip(c1 + rng.choice([-1, 1], size=3) * rng.uniform(60, 140, size=3), 0, 255)
    kind = rng.choice(['solid', 'stripes', 'checker', 'noise', 'gradient'])
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    if kind == 'solid':
        t = np.zeros((h, w), np.float32)
    elif kind == 'stripes':
        a, period = rng.uniform(0, np.pi), rng.uniform(4, 12)
        t = ((np.cos(a) * xx + np.sin(a) * yy) // (period / 2) % 2).astype(np.float32)
    elif kind == 'checker':
        cell = rng.uniform(3, 10)
        t = ((xx // cell + yy // cell) % 2).astype(np.float32)
    elif kind == 'noise':
        t = rng.random((h, w)).astype(np.float32)
    else:
        t = xx / max(w - 1, 1)
    tex = c1[None, None] * (1 - t[..., None]) + c2[None, None] * t[..., None]
    return tex + rng.normal(0, 4, size=tex.shape)


def _polygon(rng: np.random.Generator, shape: str, cx: float, cy: float, r: float
             ) -> List[Tuple[float, float]]:
    rot = rng.uniform(0, 2 * np.pi)
    if shape == 'rectangle':
        aspect = rng.uniform(0.45, 1.0)
        pts = [(-1, -aspect), (1, -aspect), (1, aspect), (-1, aspect)]
    elif shape == 'triangle':
        pts = [(np.cos(a), np.sin(a)) for a in (np.pi / 2 + np.arange(3) * 2 * np.pi / 3)]
    elif shape == 'star':
        pts = [((1.0 if i % 2 == 0 else 0.42) * np.cos(i * np.pi / 5),
                (1.0 if i % 2 == 0 else 0.42) * np.sin(i * np.pi / 5)) for i in range(10)]
    elif shape == 'cross':
        a = 0.33
        pts = [(-a, -1), (a, -1), (a, -a), (1, -a), (1, a), (a, a), (a, 1), (-a, 1), (-a, a),
               (-1, a), (-1, -a), (-a, -a)]
    else:
        raise ValueError(shape)
    c, s = np.cos(rot), np.sin(rot)
    return [(cx + r * (x * c - y * s), cy + r * (x * s + y * c)) for x, y in pts]


def _shape_mask(rng: np.random.Generator, shape: str, w: int, h: int, cx: float, cy: float,
                r: float) -> np.ndarray:
    mask = Image.new('L', (w, h), 0)
    draw = ImageDraw.Draw(mask)
    if shape == 'circle':
        ry = r * rng.uniform(0.8, 1.0)
        draw.ellipse([cx - r, cy - ry, cx + r, cy + ry], fill=255)
    elif shape == 'ring':
        draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=255)
        ri = r * rng.uniform(0.45, 0.65)
        draw.ellipse([cx - ri, cy - ri, cx + ri, cy + ri], fill=0)
    else:
        draw.polygon(_polygon(rng, shape, cx, cy, r), fill=255)
    return np.asarray(mask) > 127


def _clutter(rng: np.random.Generator, img: np.ndarray, n: int) -> None:
    """Unannotated distractors: thin strokes and small dots that are none of the classes."""
    h, w = img.shape[:2]
    canvas = Image.fromarray(np.clip(img, 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(canvas)
    for _ in range(int(rng.integers(0, n + 1))):
        col = tuple(int(v) for v in _random_colour(rng))
        if rng.random() < 0.6:
            x0, y0 = rng.uniform(0, w), rng.uniform(0, h)
            pts = [(x0, y0)]
            for _ in range(int(rng.integers(1, 4))):
                pts.append((pts[-1][0] + rng.uniform(-w / 4, w / 4), pts[-1][1] + rng.uniform(-h / 4, h / 4)))
            draw.line(pts, fill=col, width=int(rng.integers(1, 3)))
        else:
            x0, y0, r = rng.uniform(0, w), rng.uniform(0, h), rng.uniform(1, 3)
            draw.ellipse([x0 - r, y0 - r, x0 + r, y0 + r], fill=col)
    img[...] = np.asarray(canvas, dtype=np.float32)


def render_image(rng: np.random.Generator, cfg: SyntheticConfig) -> Tuple[np.ndarray, List[dict]]:
    """Draw one image.

    Args:
        rng: the random generator (advanced by the call).
        cfg: dataset parameters.

    Returns:
        ``(image, objects)``: a uint8 (H, W, 3) RGB array and one dict per annotated
        object with ``category`` (class name), ``bbox`` ([x, y, w, h] of the visible
        pixels) and ``area`` (visible pixel count).
    """
    w, h = cfg.image_size
    img = _background(rng, w, h)
    _clutter(rng, img, cfg.clutter // 2)
    short = min(w, h)
    n_obj = int(rng.integers(cfg.objects[0], cfg.objects[1] + 1))
    placed: List[Tuple[str, np.ndarray, int]] = []  # (class, visible mask, full area)
    for _ in range(n_obj):
        for _attempt in range(20):  # bounded retries: give up on a crowded image
            shape = str(rng.choice(list(cfg.classes)))
            r = rng.uniform(cfg.scale[0], cfg.scale[1]) * short / 2
            cx, cy = rng.uniform(r * 0.5, w - r * 0.5), rng.uniform(r * 0.5, h - r * 0.5)
            mask = _shape_mask(rng, shape, w, h, cx, cy, r)
            if mask.sum() < 16:
                continue
            # Keep every earlier object at least (1 - max_occlusion) visible.
            ok = all(((m & ~mask).sum() >= (1 - cfg.max_occlusion) * full) for _, m, full in placed)
            if ok:
                break
        else:
            continue
        ys, xs = np.nonzero(mask)
        y0, y1, x0, x1 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
        if cfg.class_colour:
            index = (list(cfg.classes).index(shape) % cfg.colour_groups if cfg.colour_groups
                     else SHAPES.index(shape))
            tex = _class_colour(rng, index, int(x1 - x0), int(y1 - y0))
        else:
            tex = _texture(rng, int(x1 - x0), int(y1 - y0))
        region = img[y0:y1, x0:x1]
        m = mask[y0:y1, x0:x1, None]
        region[...] = np.where(m, tex, region)
        placed = [(c, pm & ~mask, full) for c, pm, full in placed]
        placed.append((shape, mask, int(mask.sum())))
    _clutter(rng, img, cfg.clutter // 2)
    img += rng.normal(0, 3, size=img.shape)
    objects = []
    for cls, vis, _ in placed:
        ys, xs = np.nonzero(vis)
        if len(xs) == 0:
            continue
        x0, y0, x1, y1 = int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1
        objects.append(dict(category=cls, bbox=[x0, y0, x1 - x0, y1 - y0], area=int(vis.sum())))
    return np.clip(img, 0, 255).astype(np.uint8), objects


def generate(cfg: SyntheticConfig, out_dir: Path) -> dict:
    """Write the dataset under ``out_dir``.

    Layout: ``images/{train,val}/NNNNNN.jpg``, ``annotations/instances_{train,val}.json``
    (COCO), and ``dataset_info.json`` (the parameters, versions and counts). If
    ``dataset_info.json`` already records the same parameters, nothing is rewritten.

    Args:
        cfg: dataset parameters.
        out_dir: output folder.

    Returns:
        The dataset info dict (parameters, counts, annotation file paths).
    """
    cfg.validate()
    out_dir = Path(out_dir)
    params = asdict(cfg)
    params['classes'] = list(cfg.classes)
    params['image_size'] = list(cfg.image_size)
    params['objects'] = list(cfg.objects)
    params['scale'] = list(cfg.scale)
    info_path = out_dir / 'dataset_info.json'
    if info_path.is_file():
        try:
            old = json.loads(info_path.read_text())
        except json.JSONDecodeError:
            old = {}
        if old.get('params') == params and all(
                (out_dir / f).is_file() for f in old.get('ann_files', {}).values()):
            return old
    categories = [dict(id=i + 1, name=c, supercategory='shape') for i, c in enumerate(cfg.classes)]
    cat_id = {c: i + 1 for i, c in enumerate(cfg.classes)}
    counts, ann_files = {}, {}
    for split_idx, (split, n) in enumerate((('train', cfg.num_train), ('val', cfg.num_val))):
        if n == 0:
            continue
        # One stream per split, so the val set does not change when num_train does.
        rng = np.random.default_rng([cfg.seed, split_idx])
        images, anns = [], []
        for i in range(n):
            img, objects = render_image(rng, cfg)
            name = f'{split}/{i:06d}.jpg'
            path = out_dir / 'images' / name
            path.parent.mkdir(parents=True, exist_ok=True)
            Image.fromarray(img).save(path, format='JPEG', quality=92)
            images.append(dict(id=i + 1, file_name=name, width=cfg.image_size[0],
                               height=cfg.image_size[1]))
            for o in objects:
                anns.append(dict(id=len(anns) + 1, image_id=i + 1, category_id=cat_id[o['category']],
                                 bbox=o['bbox'], area=o['area'], iscrowd=0))
        rel = f'annotations/instances_{split}.json'
        atomic_write_json(out_dir / rel, dict(
            info=dict(description='smnas synthetic shapes', params=params),
            images=images, annotations=anns, categories=categories))
        counts[split] = dict(images=len(images), boxes=len(anns))
        ann_files[split] = rel
    info = dict(params=params, counts=counts, ann_files=ann_files, classes=list(cfg.classes),
                versions=collect_env_versions())
    atomic_write_json(info_path, info, indent=1)
    return info


def main(argv: Optional[List[str]] = None) -> int:
    """Command line: write a synthetic dataset; returns the exit code."""
    p = argparse.ArgumentParser(description='Generate the synthetic shapes detection dataset (COCO JSON).')
    p.add_argument('--out', type=Path, default=Path('data/synthetic'))
    p.add_argument('--train', type=int, default=200, help='training images')
    p.add_argument('--val', type=int, default=50, help='validation images')
    p.add_argument('--size', type=int, nargs=2, default=(320, 240), metavar=('W', 'H'))
    p.add_argument('--classes', default=','.join(DEFAULT_CLASSES),
                   help=f'comma-separated subset of {",".join(SHAPES)}')
    p.add_argument('--objects', type=int, nargs=2, default=(1, 6), metavar=('MIN', 'MAX'))
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--class-colour', action='store_true', help="each object in its class's colour")
    p.add_argument('--colour-groups', type=int, default=0,
                   help='with --class-colour: only this many colours, shared by classes i, i+N, ...')
    args = p.parse_args(argv)
    cfg = SyntheticConfig(classes=tuple(c.strip() for c in args.classes.split(',') if c.strip()),
                          image_size=tuple(args.size), num_train=args.train, num_val=args.val,
                          objects=tuple(args.objects), seed=args.seed,
                          class_colour=args.class_colour, colour_groups=args.colour_groups)
    try:
        info = generate(cfg, args.out)
    except ValueError as e:
        print(f'error: {e}', file=sys.stderr)
        return 2
    for split, c in info['counts'].items():
        print(f'{split}: {c["images"]} images, {c["boxes"]} boxes -> {args.out / info["ann_files"][split]}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
