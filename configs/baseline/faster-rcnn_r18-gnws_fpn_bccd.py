# Baseline: R-18 FPN Faster R-CNN, GN+WS, from scratch, on BCCD at 320x240.
#   python tools/convert_dataset.py ../shared/data/bccd --out data/bccd
#   python tools/train.py configs/baseline/faster-rcnn_r18-gnws_fpn_bccd.py
#   python tools/test.py configs/baseline/faster-rcnn_r18-gnws_fpn_bccd.py \
#       work_dirs/faster-rcnn_r18-gnws_fpn_bccd/iter_300.pth
_base_ = [
    '../_base_/models/faster-rcnn_r18_fpn_gnws.py',
    '../_base_/datasets/bccd.py',
    '../_base_/schedules/cpu_short.py',
    '../_base_/default_runtime.py',
]
model = dict(roi_head=dict(bbox_head=dict(num_classes=3)))
