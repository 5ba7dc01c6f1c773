"""Two-process data parallel (gloo, CPU): both ranks train the same subnets and stay equal."""
import os

import torch
import torch.distributed as dist
import torch.multiprocessing as mp


def _worker(rank, world, port, out):
    os.environ.update(MASTER_ADDR='127.0.0.1', MASTER_PORT=str(port))
    dist.init_process_group('gloo', rank=rank, world_size=world)
    try:
        from mmengine.logging import MessageHub
        from mmengine.optim import OptimWrapper

        import supernet  # noqa: F401
        from smnas.testing import build_detector, demo_batch
        from supernet.algorithm import SandwichDistributed
        from supernet.build import supernet_model_cfg
        from tests.supernet.common import RCNN
        from tests.supernet.common import TINY_SPACE as space
        cfg = dict(type='SandwichSupernet', architecture=supernet_model_cfg(RCNN, space, 3),
                   space=space.to_dict(), num_random_subnets=1)
        model = build_detector(cfg, seed=rank)  # different init per rank: the wrapper syncs it
        ddp = SandwichDistributed(model)
        optim = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.01))
        members = []
        for it in range(2):
            MessageHub.get_current_instance().update_info('iter', it)
            members.append([str(s) for _, s in model.sandwich_members(it)])
            data = demo_batch(batch_size=1, size=(64, 64 + 32 * rank))  # each rank its own data
            ddp.train_step(data, optim)
        flat = torch.cat([p.detach().flatten() for p in model.parameters()])
        gathered = [None] * world
        dist.all_gather_object(gathered, (members, flat))
        if rank == 0:
            torch.save(gathered, out)
    finally:
        dist.destroy_process_group()


def test_two_ranks_train_identical_subnets_and_weights(tmp_path):
    out = str(tmp_path / 'gathered.pt')
    port = 29500 + os.getpid() % 1000
    mp.spawn(_worker, args=(2, port, out), nprocs=2, join=True)
    (m0, w0), (m1, w1) = torch.load(out, weights_only=False)
    assert m0 == m1
    torch.testing.assert_close(w0, w1)
