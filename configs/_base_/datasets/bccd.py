# BCCD blood cells (640x480, RBC / WBC / Platelets), trained at 320x240.
# Convert it first: python tools/convert_dataset.py ../shared/data/bccd --out data/bccd
# (train/val/test splits come from its ImageSets/Main lists).
_base_ = './coco_detection_small.py'

data_root = 'data/bccd/'
num_classes = 3
train_dataloader = dict(dataset=dict(data_root=data_root))
val_dataloader = dict(dataset=dict(data_root=data_root))
test_dataloader = dict(
    dataset=dict(data_root=data_root, ann_file='annotations/instances_test.json'))
val_evaluator = dict(ann_file=data_root + 'annotations/instances_val.json')
test_evaluator = dict(ann_file=data_root + 'annotations/instances_test.json')
