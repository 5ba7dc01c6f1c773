# Any dataset already in COCO JSON. Set the root, the files and the class count:
#   python tools/train.py CONFIG --cfg-options \
#       train_dataloader.dataset.data_root=/data/mine/ val_dataloader.dataset.data_root=/data/mine/ \
#       val_evaluator.ann_file=/data/mine/annotations/instances_val.json
# or copy this file and edit the lines below. Class names are read from the
# "categories" of the annotation file (in id order); num_classes must match their count.
_base_ = './coco_detection_small.py'

data_root = 'data/my_coco/'
train_ann = 'annotations/instances_train.json'
val_ann = 'annotations/instances_val.json'
img_dir = 'images/'
num_classes = 80

train_dataloader = dict(
    dataset=dict(data_root=data_root, ann_file=train_ann, data_prefix=dict(img=img_dir)))
val_dataloader = dict(
    dataset=dict(data_root=data_root, ann_file=val_ann, data_prefix=dict(img=img_dir)))
test_dataloader = val_dataloader
val_evaluator = dict(ann_file=data_root + val_ann)
test_evaluator = val_evaluator
