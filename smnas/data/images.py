"""Probing and normalising image files found in user datasets.

Real datasets hold files named ``.jpg`` that are PNGs, RGBA and palette images,
greyscale and CMYK images, EXIF-rotated photos and truncated files. Everything
downstream (mmcv's loaders, pycocotools, other tools a user may run) is simplest
when every image is a plain 8-bit RGB file whose extension matches its format and
whose stored pixels are the ones annotated; ``normalise_image`` makes it so.
"""
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import List, Optional, Tuple

from PIL import Image, ImageOps

IMAGE_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.bmp', '.tif', '.tiff', '.webp')

# PIL format name -> extensions that announce it.
_FORMAT_EXTS = {
    'JPEG': ('.jpg', '.jpeg', '.jpe', '.jfif'),
    'PNG': ('.png', ),
    'BMP': ('.bmp', ),
    'TIFF': ('.tif', '.tiff'),
    'WEBP': ('.webp', ),
    'GIF': ('.gif', ),
    'MPO': ('.jpg', '.jpeg'),  # multi-picture JPEG from cameras; a JPEG for every reader
}
_EXIF_ORIENTATION = 0x0112


class ImageError(Exception):
    """An image file that cannot be read; the message names the file and the cause."""


@dataclass
class ImageProbe:
    """What :func:`probe_image` learned about one file.

    Attributes:
        path: the file.
        format: PIL's format name ('JPEG', 'PNG', ...).
        mode: PIL's pixel mode ('RGB', 'RGBA', 'P', 'L', ...).
        size: (width, height) of the stored pixels.
        orientation: EXIF orientation tag (1 = as stored).
        fixes: issue kinds (see :mod:`smnas.data.report`) that normalising resolves.
    """
    path: Path
    format: str
    mode: str
    size: Tuple[int, int]
    orientation: int = 1
    fixes: List[str] = field(default_factory=list)

    @property
    def needs_reencode(self) -> bool:
        """Whether the file must be re-encoded rather than copied."""
        return bool(self.fixes)


def probe_image(path: os.PathLike, decode: bool = True) -> ImageProbe:
    """Open ``path``, check it decodes, and list what normalising it would fix.

    Args:
        path: image file.
        decode: decode all pixels (catches truncated files); ``False`` reads the
            header only.

    Returns:
        An :class:`ImageProbe`.

    Raises:
        ImageError: the file is missing, not an image, or cannot be decoded.
    """
    path = Path(path)
    try:
        with Image.open(path) as im:
            fmt, mode, size = im.format or '?', im.mode, im.size
            try:
                orientation = int(im.getexif().get(_EXIF_ORIENTATION, 1) or 1)
            except Exception:  # malformed EXIF block: treat as unrotated
                orientation = 1
            if decode:
                im.load()
    except FileNotFoundError as e:
        raise ImageError(f'{path}: file does not exist') from e
    except Exception as e:  # PIL raises many types for bad files
        raise ImageError(f'{path}: cannot decode image ({type(e).__name__}: {e})') from e
    if size[0] <= 0 or size[1] <= 0:
        raise ImageError(f'{path}: image has size {size[0]}x{size[1]}')
    fixes = []
    if path.suffix.lower() not in _FORMAT_EXTS.get(fmt, ()):
        fixes.append('format_mismatch')
    if mode in ('RGBA', 'LA', 'RGBa', 'La'):
        fixes.append('mode_rgba')
    elif mode in ('P', 'PA'):
        fixes.append('mode_palette')
    elif mode in ('L', '1'):
        fixes.append('mode_grey')
    elif mode != 'RGB':
        fixes.append('mode_other')
    if orientation not in (0, 1):
        fixes.append('exif_rotated')
    return ImageProbe(path=path, format=fmt, mode=mode, size=size,
                      orientation=orientation, fixes=fixes)


def oriented_size(probe: ImageProbe) -> Tuple[int, int]:
    """(width, height) after applying the EXIF orientation (5-8 swap the axes)."""
    w, h = probe.size
    return (h, w) if probe.orientation in (5, 6, 7, 8) else (w, h)


def _to_rgb(im: Image.Image) -> Image.Image:
    if im.mode == 'RGB':
        return im
    if im.mode in ('I;16', 'I;16B', 'I;16L', 'I'):
        # 16/32-bit greyscale: rescale to 8 bits rather than clip.
        import numpy as np
        arr = np.asarray(im, dtype=np.float64)
        lo, hi = float(arr.min()), float(arr.max())
        arr = (arr - lo) / (hi - lo if hi > lo else 1.0) * 255.0
        im = Image.fromarray(arr.round().astype('uint8'), mode='L')
    if im.mode == 'P' and 'transparency' in im.info:
        im = im.convert('RGBA')
    return im.convert('RGB')


def normalise_image(probe: ImageProbe, dst: os.PathLike, apply_orientation: bool,
                    link: bool = False) -> Path:
    """Write the image of ``probe`` to ``dst`` as a plain RGB file.

    Clean files are copied byte for byte (or symlinked with ``link``); files with
    fixes are re-encoded: RGB pixels, format matching the extension of ``dst``
    (JPEG quality 95 or PNG), no EXIF orientation left to apply.

    Args:
        probe: result of :func:`probe_image` for the source file.
        dst: destination path; its extension chooses the format of re-encoded files.
        apply_orientation: rotate the pixels by the EXIF tag (when the annotation was
            made on the rotated view); otherwise keep the stored pixels and drop the tag.
        link: symlink clean files instead of copying them.

    Returns:
        The written path.
    """
    dst = Path(dst)
    dst.parent.mkdir(parents=True, exist_ok=True)
    if not probe.needs_reencode:
        if dst.exists() or dst.is_symlink():
            dst.unlink()
        if link:
            os.symlink(probe.path.resolve(), dst)
        else:
            shutil.copyfile(probe.path, dst)
        return dst
    with Image.open(probe.path) as im:
        im.load()
        if apply_orientation:
            im = ImageOps.exif_transpose(im)
        rgb = _to_rgb(im)
    ext = dst.suffix.lower()
    tmp = dst.with_name(f'.{dst.name}.tmp')
    if ext in ('.jpg', '.jpeg'):
        rgb.save(tmp, format='JPEG', quality=95)
    elif ext == '.png':
        rgb.save(tmp, format='PNG')
    else:
        raise ValueError(f'cannot re-encode to {dst.name}: use a .jpg or .png name')
    os.replace(tmp, dst)
    return dst


def find_image(folder: Path, stem: str, name: Optional[str] = None) -> Optional[Path]:
    """Find an image for a label file in ``folder``.

    Args:
        folder: where to look.
        stem: the label file's name without extension.
        name: the file name the annotation itself gives, tried first.

    Returns:
        The path, or None when no file matches (name first, then ``stem`` with any
        image extension in any letter case).
    """
    if name:
        cand = folder / Path(name).name
        if cand.is_file():
            return cand
    for ext in IMAGE_EXTENSIONS:
        for e in (ext, ext.upper()):
            cand = folder / f'{stem}{e}'
            if cand.is_file():
                return cand
    return None
