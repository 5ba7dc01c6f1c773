# Guided-Anchor RPN Faster R-CNN, R-18 FPN, GN+WS, from scratch, synthetic dataset.
# Trains and predicts on the CPU thanks to smnas's masked-convolution fallback.
_base_ = [
    '../_base_/models/ga-faster-rcnn_r18_fpn_gnws.py',
    '../_base_/datasets/synthetic.py',
    '../_base_/schedules/cpu_short.py',
    '../_base_/default_runtime.py',
]
model = dict(roi_head=dict(bbox_head=dict(num_classes=5)))
