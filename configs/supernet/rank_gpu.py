# The rank-fidelity benchmark at GPU scale (benchmarks/gpu/rank.sh): the rank space and data
# (configs/supernet/rank_synthetic.py: bases 48-72, up to 2-2-3-2 blocks, neck and head
# 128/256/512; 6 classes in 3 colours, 1000 val images) with 4x the batch, so that each
# from-scratch training sees 2.4 epochs in 300 iterations; several trainings share the GPU
# (--jobs), so each keeps one data worker.
#   python benchmarks/bench_rank_fidelity.py configs/supernet/rank_gpu.py --truth-first --jobs 8 ...
_base_ = './rank_synthetic.py'

train_dataloader = dict(batch_size=16, num_workers=1, persistent_workers=False)
val_dataloader = dict(batch_size=16, num_workers=1, persistent_workers=False)
test_dataloader = val_dataloader
