# A harder, capacity-sensitive synthetic set for the rank-fidelity ground truth
# (benchmarks/bench_rank_fidelity.py): all six shape classes, 2-8 smaller objects per
# image, more clutter, and 1000 val images so that the score of one training varies
# little with the images. Colour is a partial cue: three colours for six classes
# (circle/star, rectangle/cross, triangle/ring share one), so a detector learns the
# colour groups quickly (shape alone learns almost nothing in minutes: benchmarks/README.md,
# learning speed) and needs capacity to tell the shapes within a group apart.
# The quickstart's 160x120 pipelines keep a from-scratch training to minutes on 2 cores.
_base_ = './synthetic_small.py'

prepare_data = dict(type='synthetic', out='data/synthetic_rank', num_train=2000, num_val=1000,
                    image_size=(160, 120), scale=(0.2, 0.5), objects=(2, 8), clutter=16,
                    classes=('circle', 'rectangle', 'triangle', 'star', 'cross', 'ring'),
                    class_colour=True, colour_groups=3)
data_root = 'data/synthetic_rank/'
num_classes = 6
train_dataloader = dict(dataset=dict(data_root=data_root))
val_dataloader = dict(batch_size=8, dataset=dict(data_root=data_root))
test_dataloader = val_dataloader
val_evaluator = dict(ann_file=data_root + 'annotations/instances_val.json')
test_evaluator = val_evaluator
