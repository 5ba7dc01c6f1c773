# COCO 2017 detection at the paper's scale (1333x800). Expects data/coco/ with
# annotations/instances_{train,val}2017.json and {train,val}2017/ image folders.
_base_ = './coco_detection_small.py'

dataset_type = 'CocoDataset'
data_root = 'data/coco/'
img_scale = (1333, 800)
num_classes = 80
train_dataloader = dict(
    batch_size=2,
    dataset=dict(type=dataset_type, data_root=data_root,
                 ann_file='annotations/instances_train2017.json',
                 data_prefix=dict(img='train2017/'),
                 pipeline=[
                     dict(type='LoadImageFromFile'),
                     dict(type='LoadAnnotations', with_bbox=True),
                     dict(type='Resize', scale=img_scale, keep_ratio=True),
                     dict(type='RandomFlip', prob=0.5),
                     dict(type='PackDetInputs'),
                 ]))
val_dataloader = dict(
    dataset=dict(type=dataset_type, data_root=data_root,
                 ann_file='annotations/instances_val2017.json',
                 data_prefix=dict(img='val2017/'),
                 pipeline=[
                     dict(type='LoadImageFromFile'),
                     dict(type='Resize', scale=img_scale, keep_ratio=True),
                     dict(type='LoadAnnotations', with_bbox=True),
                     dict(type='PackDetInputs',
                          meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor')),
                 ]))
test_dataloader = val_dataloader
val_evaluator = dict(ann_file=data_root + 'annotations/instances_val2017.json')
test_evaluator = val_evaluator
