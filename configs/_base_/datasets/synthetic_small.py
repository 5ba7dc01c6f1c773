# The embedded default dataset at the size of the CPU quickstarts: synthetic shapes
# generated at 160x120 with objects of 30-70% of the short side, so that they stay
# larger than the smallest anchors (32 pixels) without upscaling, each class in its own
# colour: with shape the only cue, a from-scratch detector learns almost nothing in the
# quickstart's minutes (0.04 mAP after 600 iterations against 0.35 with the colour;
# benchmarks/README.md, learning speed). Generated on first use.
_base_ = './coco_detection_small.py'

prepare_data = dict(type='synthetic', out='data/synthetic_small', num_train=200, num_val=50,
                    image_size=(160, 120), scale=(0.3, 0.7), class_colour=True)
data_root = 'data/synthetic_small/'
num_classes = 5
img_scale = (160, 120)
train_dataloader = dict(dataset=dict(data_root=data_root, pipeline=[
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='Resize', scale=img_scale, keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs'),
]))
val_dataloader = dict(dataset=dict(data_root=data_root, pipeline=[
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=img_scale, keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='PackDetInputs', meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                                          'scale_factor')),
]))
test_dataloader = val_dataloader
val_evaluator = dict(ann_file=data_root + 'annotations/instances_val.json')
test_evaluator = val_evaluator
