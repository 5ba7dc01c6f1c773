"""Book-keeping of everything a dataset conversion dropped, fixed or noticed."""
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Dict, List

# kind -> (action, description). The action says what happened to the item, so the
# summary reads as an account: every source image and box is either written or
# listed under a 'dropped' kind.
ISSUE_KINDS: Dict[str, tuple] = OrderedDict([
    # images
    ('missing_image', ('dropped image', 'label file whose image does not exist')),
    ('corrupt_image', ('dropped image', 'image that cannot be decoded')),
    ('broken_annotation', ('dropped image', 'annotation file that cannot be parsed')),
    ('unlabeled_image_dropped', ('dropped image', 'image without a label file')),
    ('not_in_split', ('dropped image', 'image listed in no split file')),
    ('unlabeled_image', ('note', 'image without a label file, kept as background')),
    ('duplicate_in_splits', ('fixed image', 'image listed in several splits, kept in the first')),
    ('format_mismatch', ('fixed image', 'file extension does not match the image format, re-encoded')),
    ('mode_rgba', ('fixed image', 'RGBA / LA image, alpha dropped, re-encoded as RGB')),
    ('mode_palette', ('fixed image', 'palette image, re-encoded as RGB')),
    ('mode_grey', ('fixed image', 'greyscale image, re-encoded as RGB')),
    ('mode_other', ('fixed image', 'other pixel mode (CMYK, 16-bit...), re-encoded as RGB')),
    ('exif_rotated', ('fixed image', 'EXIF orientation applied to the pixels')),
    ('exif_ignored', ('fixed image', 'EXIF orientation tag dropped, stored pixels match the labels')),
    ('size_missing', ('fixed image', 'width/height missing or 0 in the annotation, read from the image')),
    ('size_mismatch', ('fixed image', 'annotated width/height differ from the image, image size used')),
    ('filename_mismatch', ('note', 'annotation names another file, image found by the label file name')),
    # boxes
    ('zero_area_box', ('dropped box', 'box with zero or negative width or height')),
    ('outside_box', ('dropped box', 'box entirely outside the image')),
    ('malformed_box', ('dropped box', 'box with missing or non-numeric coordinates')),
    ('unknown_class', ('dropped box', 'object of a class not in the class list')),
    ('clipped_box', ('fixed box', 'box partly outside the image, clipped to it')),
    ('inverted_box', ('fixed box', 'box with min > max corners, corners swapped')),
    ('polygon_label', ('fixed box', 'polygon label converted to its bounding box')),
    ('difficult_ignored', ('fixed box', 'difficult object kept as an ignore region (iscrowd=1)')),
    ('difficult_dropped', ('dropped box', 'difficult object dropped (--difficult drop)')),
])


@dataclass
class ConversionReport:
    """Counts and examples of every conversion issue, by kind.

    Args:
        max_examples: how many example locations to keep per kind.
    """
    max_examples: int = 5
    counts: Dict[str, int] = field(default_factory=dict)
    examples: Dict[str, List[str]] = field(default_factory=dict)
    notes: List[str] = field(default_factory=list)

    def add(self, kind: str, where: str, n: int = 1) -> None:
        """Record ``n`` occurrences of ``kind`` at ``where`` (a file, file:line...)."""
        if kind not in ISSUE_KINDS:
            raise KeyError(f'unknown conversion issue kind {kind!r}')
        self.counts[kind] = self.counts.get(kind, 0) + n
        ex = self.examples.setdefault(kind, [])
        if len(ex) < self.max_examples:
            ex.append(where)

    def count(self, kind: str) -> int:
        """Return how many times ``kind`` was recorded."""
        return self.counts.get(kind, 0)

    def dropped(self, unit: str) -> int:
        """Total dropped items of ``unit`` ('image' or 'box')."""
        return sum(n for k, n in self.counts.items() if ISSUE_KINDS[k][0] == f'dropped {unit}')

    def to_dict(self) -> dict:
        """Self-describing dict form for the JSON report."""
        return {
            'issues': [
                dict(kind=k, action=ISSUE_KINDS[k][0], description=ISSUE_KINDS[k][1],
                     count=self.counts[k], examples=self.examples.get(k, []))
                for k in ISSUE_KINDS if k in self.counts
            ],
            'notes': list(self.notes),
        }

    def format_lines(self) -> List[str]:
        """Human-readable lines, one per recorded kind, in a fixed order."""
        lines = []
        for kind, (action, desc) in ISSUE_KINDS.items():
            n = self.counts.get(kind)
            if not n:
                continue
            ex = ', '.join(self.examples.get(kind, []))
            more = ', ...' if n > len(self.examples.get(kind, [])) else ''
            lines.append(f'  {action:<13} {n:>6}  {desc}: {ex}{more}')
        return lines
