# The embedded default dataset: synthetic shapes, 320x240, 5 classes.
# Generate it with: python tools/make_synthetic.py --out data/synthetic
_base_ = './coco_detection_small.py'

data_root = 'data/synthetic/'
num_classes = 5
train_dataloader = dict(dataset=dict(data_root=data_root))
val_dataloader = dict(dataset=dict(data_root=data_root))
test_dataloader = val_dataloader
val_evaluator = dict(ann_file=data_root + 'annotations/instances_val.json')
test_evaluator = val_evaluator
