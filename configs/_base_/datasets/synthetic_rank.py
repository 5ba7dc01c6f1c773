# A harder, capacity-sensitive synthetic set for the rank-fidelity ground truth
# (benchmarks/bench_rank_fidelity.py): all six shape classes (ring vs circle, star vs
# cross need more than colour blobs), 2-8 smaller objects per image, more clutter, and
# 1000 val images so that the score of one training varies little with the images.
# 160x120 keeps a from-scratch training to minutes on 2 cores. Generated on first use.
_base_ = './coco_detection_small.py'

prepare_data = dict(type='synthetic', out='data/synthetic_rank', num_train=2000, num_val=1000,
                    image_size=(160, 120), scale=(0.2, 0.5), objects=(2, 8), clutter=16,
                    classes=('circle', 'rectangle', 'triangle', 'star', 'cross', 'ring'))
data_root = 'data/synthetic_rank/'
num_classes = 6
img_scale = (160, 120)
train_dataloader = dict(dataset=dict(data_root=data_root, pipeline=[
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='Resize', scale=img_scale, keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs'),
]))
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
