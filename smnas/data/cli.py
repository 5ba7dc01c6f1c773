"""Command line of the dataset converter (``tools/convert_dataset.py``, ``smnas-convert-dataset``).

Examples::

    python tools/convert_dataset.py ../shared/data/bccd --out data/bccd
    python tools/convert_dataset.py ../shared/data/raccoon --out data/raccoon --val-ratio 0.2
    python tools/convert_dataset.py my_yolo_set --format yolo --out data/mine --skip-missing
"""
import argparse
import sys
from pathlib import Path
from typing import List, Optional

from .convert import ConversionOptions, DatasetError, convert_samples, format_summary
from .report import ConversionReport
from .voc import read_voc
from .yolo import read_yolo


def detect_format(root: Path) -> str:
    """Guess 'voc' or 'yolo' from the files below ``root``.

    Raises:
        DatasetError: neither XML nor txt label files are present.
    """
    if not root.is_dir():
        raise DatasetError(f'{root} is not a folder')
    if next(root.rglob('*.xml'), None) is not None:
        return 'voc'
    if next(root.rglob('*.txt'), None) is not None:
        return 'yolo'
    raise DatasetError(f'{root}: found neither VOC XML nor YOLO txt label files; '
                       f'for COCO JSON no conversion is needed (see configs/_base_/datasets/coco_json.py)')


def build_parser() -> argparse.ArgumentParser:
    """The command line of ``smnas-convert-dataset`` and ``tools/convert_dataset.py``."""
    p = argparse.ArgumentParser(
        description='Convert a Pascal VOC or YOLO detection dataset to COCO JSON with '
        'train/val(/test) splits, normalising images and reporting every dropped or fixed item.')
    p.add_argument('src', type=Path, help='dataset folder')
    p.add_argument('--out', type=Path, required=True, help='output folder')
    p.add_argument('--format', choices=('auto', 'voc', 'yolo'), default='auto')
    p.add_argument('--classes', help='comma-separated class names in id order; objects of other '
                   'classes are dropped and reported (default: VOC: all names found, sorted; '
                   'YOLO: data.yaml / classes.txt)')
    p.add_argument('--images', type=Path, help='image folder (default: detected)')
    p.add_argument('--annotations', type=Path, help='VOC XML folder (default: detected)')
    p.add_argument('--val-ratio', type=float, default=0.2,
                   help='validation fraction when the source defines no splits (default 0.2)')
    p.add_argument('--test-ratio', type=float, default=0.0,
                   help='test fraction when the source defines no splits (default 0)')
    p.add_argument('--seed', type=int, default=0, help='seed of the random split')
    p.add_argument('--skip-missing', action='store_true',
                   help='skip and report label files whose image is missing (default: stop)')
    p.add_argument('--skip-corrupt', action='store_true',
                   help='skip and report images that cannot be decoded (default: stop)')
    p.add_argument('--drop-unlabeled', action='store_true',
                   help='drop images without a label file (default: keep as background)')
    p.add_argument('--difficult', choices=('keep', 'ignore', 'drop'), default='keep',
                   help='VOC difficult objects: keep, mark as ignore regions, or drop')
    p.add_argument('--link', action='store_true', help='symlink clean images instead of copying')
    p.add_argument('--no-decode', action='store_true',
                   help='read image headers only (faster, misses truncated files)')
    return p


def main(argv: Optional[List[str]] = None) -> int:
    """Run the converter; returns the process exit code (0, or 2 on a dataset error)."""
    args = build_parser().parse_args(argv)
    classes = [c.strip() for c in args.classes.split(',') if c.strip()] if args.classes else None
    if not 0 <= args.val_ratio < 1 or not 0 <= args.test_ratio < 1 or args.val_ratio + args.test_ratio >= 1:
        print('error: --val-ratio and --test-ratio must be in [0, 1) and sum to less than 1',
              file=sys.stderr)
        return 2
    report = ConversionReport()
    try:
        fmt = detect_format(args.src) if args.format == 'auto' else args.format
        if fmt == 'voc':
            samples, splits_defined, desc = read_voc(args.src, args.images, args.annotations, report)
        else:
            samples, splits_defined, desc, classes = read_yolo(args.src, classes)
        opts = ConversionOptions(
            classes=classes, val_ratio=args.val_ratio, test_ratio=args.test_ratio, seed=args.seed,
            skip_missing=args.skip_missing, skip_corrupt=args.skip_corrupt,
            drop_unlabeled=args.drop_unlabeled, difficult=args.difficult, link=args.link,
            decode=not args.no_decode)
        result = convert_samples(samples, args.out, opts, report, source_desc=desc,
                                 splits_defined=splits_defined)
    except DatasetError as e:
        print(f'error: {e}', file=sys.stderr)
        return 2
    print(format_summary(result))
    return 0


if __name__ == '__main__':
    sys.exit(main())
