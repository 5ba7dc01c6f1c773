# Baseline: R-18 FPN Faster R-CNN, GN+WS, from scratch, on the synthetic dataset at
# 320x240, short CPU schedule.
#   python tools/make_synthetic.py --out data/synthetic
#   python tools/train.py configs/baseline/faster-rcnn_r18-gnws_fpn_synthetic.py
_base_ = [
    '../_base_/models/faster-rcnn_r18_fpn_gnws.py',
    '../_base_/datasets/synthetic.py',
    '../_base_/schedules/cpu_short.py',
    '../_base_/default_runtime.py',
]
model = dict(roi_head=dict(bbox_head=dict(num_classes=5)))
