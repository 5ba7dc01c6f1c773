"""mmdet dataset classes registered by smnas."""
import json
import os.path as osp
from typing import Optional, Tuple

from mmdet.datasets import CocoDataset
from mmdet.registry import DATASETS


def read_coco_classes(ann_file: str) -> Tuple[str, ...]:
    """Class names of a COCO JSON file, in category-id order.

    Raises:
        FileNotFoundError: the file does not exist (the message says how to make it).
        ValueError: the file has no ``categories``.
    """
    if not osp.isfile(ann_file):
        raise FileNotFoundError(
            f'annotation file {ann_file} does not exist: convert the dataset first '
            f'(python tools/convert_dataset.py SRC --out DIR) or generate the synthetic one '
            f'(python tools/make_synthetic.py --out data/synthetic)')
    with open(ann_file, encoding='utf-8') as f:
        data = json.load(f)
    cats = data.get('categories') or []
    if not cats:
        raise ValueError(f'{ann_file} has no "categories"; cannot infer the class names')
    return tuple(c['name'] for c in sorted(cats, key=lambda c: c['id']))


def ann_file_path(cfg, loader: str = 'val_dataloader') -> str:
    """The COCO annotation file of a config's ``loader`` (``data_root`` joined)."""
    ds = cfg[loader].dataset
    return ds.ann_file if osp.isabs(ds.ann_file) else osp.join(ds.get('data_root', '') or '', ds.ann_file)


def count_images(cfg, loader: str = 'val_dataloader') -> int:
    """Images in the COCO annotation file of a config's ``loader``.

    Raises:
        OSError: the file does not exist yet (data not prepared).
    """
    with open(ann_file_path(cfg, loader), encoding='utf-8') as f:
        return len(json.load(f).get('images', []))


@DATASETS.register_module()
class CocoJsonDataset(CocoDataset):
    """A COCO-format dataset whose class names default to the file's categories.

    mmdet's ``CocoDataset`` assumes the 80 COCO classes unless ``metainfo``
    lists others; with any user dataset that silently drops every box. Here the
    classes are read from the annotation file when ``metainfo`` gives none, in
    category-id order (which is also the label order mmdet uses).

    Args:
        ann_file: annotation file, relative to ``data_root`` unless absolute.
        data_root: dataset root.
        metainfo: optional; ``classes`` overrides the file's categories.
        **kwargs: passed to ``CocoDataset``.
    """

    def __init__(self, ann_file: str = '', data_root: Optional[str] = '',
                 metainfo: Optional[dict] = None, **kwargs):
        if not (metainfo and metainfo.get('classes')):
            path = ann_file if osp.isabs(ann_file) or not data_root else osp.join(data_root, ann_file)
            metainfo = dict(metainfo or {}, classes=read_coco_classes(path))
        super().__init__(ann_file=ann_file, data_root=data_root, metainfo=metainfo, **kwargs)
