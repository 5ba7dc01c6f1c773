# The embedded default dataset at the size of the CPU quickstarts: synthetic shapes at
# 160x120, six classes, 2-8 objects of 20-50% of the short side per image, clutter. Colour
# is a partial cue: three colours for six classes (circle/star, rectangle/cross,
# triangle/ring share one), so a detector learns the colour groups in minutes and needs
# capacity to tell the shapes of a group apart. With shape the only cue a from-scratch
# detector learns almost nothing in the quickstart's minutes; with one colour per class
# it learns fast but a larger subnet gains nothing, so finalists retrained for minutes
# fell in mAP as FLOPs grew (benchmarks/README.md, learning speed; the rank-fidelity
# truth on this set ranks wider heads higher). 200 val images keep the search's scoring
# short and a finalist's bootstrap SE near 0.01. Generated on first use.
_base_ = './coco_detection_small.py'

prepare_data = dict(type='synthetic', out='data/synthetic_small', num_train=1000, num_val=200,
                    image_size=(160, 120), scale=(0.2, 0.5), objects=(2, 8), clutter=16,
                    classes=('circle', 'rectangle', 'triangle', 'star', 'cross', 'ring'),
                    class_colour=True, colour_groups=3)
data_root = 'data/synthetic_small/'
num_classes = 6
img_scale = (160, 120)
train_dataloader = dict(dataset=dict(data_root=data_root, pipeline=[
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='Resize', scale=img_scale, keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs'),
]))
# Every image has one size, so batched scoring predicts as batch 1 does.
val_dataloader = dict(batch_size=8, dataset=dict(data_root=data_root, pipeline=[
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=img_scale, keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='PackDetInputs', meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                                          'scale_factor')),
]))
test_dataloader = val_dataloader
val_evaluator = dict(ann_file=data_root + 'annotations/instances_val.json')
test_evaluator = val_evaluator
