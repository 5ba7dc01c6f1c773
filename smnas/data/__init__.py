"""Datasets: converters from VOC / YOLO to COCO JSON, the synthetic dataset generator,
and the COCO dataset class registered with mmdet."""
from .convert import (ConversionOptions, ConversionResult, DatasetError, RawObject, RawSample,
                      convert_samples, format_summary)
from .datasets import CocoJsonDataset, read_coco_classes
from .report import ConversionReport

__all__ = ['CocoJsonDataset', 'ConversionOptions', 'ConversionResult', 'ConversionReport',
           'DatasetError', 'RawObject', 'RawSample', 'convert_samples', 'format_summary',
           'read_coco_classes']
