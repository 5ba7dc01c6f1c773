# Raccoon (one class, 200 images of varied size; three greyscale).
# Convert it first: python tools/convert_dataset.py ../shared/data/raccoon --out data/raccoon
# (no split lists in the source: a seeded 80/20 train/val split).
_base_ = './coco_detection_small.py'

data_root = 'data/raccoon/'
num_classes = 1
train_dataloader = dict(dataset=dict(data_root=data_root))
val_dataloader = dict(dataset=dict(data_root=data_root))
test_dataloader = val_dataloader
val_evaluator = dict(ann_file=data_root + 'annotations/instances_val.json')
test_evaluator = val_evaluator
