# Baseline: R-18 FPN Faster R-CNN, GN+WS, from scratch, on raccoon at 320x240.
#   python tools/convert_dataset.py ../shared/data/raccoon --out data/raccoon
#   python tools/train.py configs/baseline/faster-rcnn_r18-gnws_fpn_raccoon.py
_base_ = [
    '../_base_/models/faster-rcnn_r18_fpn_gnws.py',
    '../_base_/datasets/raccoon.py',
    '../_base_/schedules/cpu_short.py',
    '../_base_/default_runtime.py',
]
model = dict(roi_head=dict(bbox_head=dict(num_classes=1)))
