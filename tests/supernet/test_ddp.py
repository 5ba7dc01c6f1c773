"""Data parallel on two CPU processes (gloo): gradients are the mean of the ranks'
gradients, computed independently here, and both ranks stay equal."""
import os
import socket

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp


def _init(rank, world, port):
    os.environ.update(MASTER_ADDR='127.0.0.1', MASTER_PORT=str(port))
    dist.init_process_group('gloo', rank=rank, world_size=world)


def _close():
    # Both ranks leave together: a rank that tears gloo down while its peer still writes
    # its results aborted the peer now and then ("terminate called without an active
    # exception", SIGABRT, once in a full-suite run).
    dist.barrier()
    dist.destroy_process_group()


def _averaging_worker(rank, world, port, out):
    """Known per-rank gradients; one parameter has a gradient on rank 1 only, one on none."""
    _init(rank, world, port)
    try:
        from supernet.algorithm import average_gradients

        params = [torch.nn.Parameter(torch.zeros(3, 2)), torch.nn.Parameter(torch.zeros(5)),
                  torch.nn.Parameter(torch.zeros(4)), torch.nn.Parameter(torch.zeros(2, 2))]
        params[0].grad = torch.full((3, 2), float(rank + 1))           # 1 and 2
        params[1].grad = torch.arange(5.0) * (10 ** rank)              # x1 and x10
        if rank == 1:
            params[2].grad = torch.full((4,), 6.0)                      # rank 1 only
        params[3].grad = None                                           # no rank
        calls = average_gradients(params)
        # A bucket of 8 bytes holds no two of these tensors: several calls, no deadlock.
        small = [torch.nn.Parameter(torch.zeros(4)) for _ in range(3)]
        for p in small:
            p.grad = torch.full((4,), float(rank))
        small_calls = average_gradients(small, bucket_bytes=8)
        if rank == 0:
            torch.save(dict(grads=[None if p.grad is None else p.grad for p in params], calls=calls,
                            small=[p.grad for p in small], small_calls=small_calls), out)
    finally:
        _close()


def _spawn(worker, tmp_path, *args):
    out = str(tmp_path / 'out.pt')
    # A port the OS says is free now: a fixed or hashed one can be held by another run
    # (or still in TIME_WAIT from the previous test), and gloo then fails to rendezvous.
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        port = sock.getsockname()[1]
    mp.spawn(worker, args=(2, port, out) + args, nprocs=2, join=True)
    return torch.load(out, weights_only=False)


def test_average_gradients_is_the_mean_over_ranks_in_one_call(tmp_path):
    r = _spawn(_averaging_worker, tmp_path)
    g = r['grads']
    torch.testing.assert_close(g[0], torch.full((3, 2), 1.5))             # (1 + 2) / 2, not 3
    torch.testing.assert_close(g[1], torch.arange(5.0) * 5.5)             # (1 + 10) / 2
    torch.testing.assert_close(g[2], torch.full((4,), 3.0))               # missing counts as zero
    assert g[3] is None                                                   # no rank had one
    assert r['calls'] == 1                                                # one bucket, not per parameter
    assert r['small_calls'] == 3
    for t in r['small']:
        torch.testing.assert_close(t, torch.full((4,), 0.5))


def _sandwich_worker(rank, world, port, out, modes):
    """The wrapper's step against each rank's own gradients gathered and averaged here, once
    per ``average_members`` mode (one process group for all: most of a spawn is start-up)."""
    _init(rank, world, port)
    try:
        from mmengine.logging import MessageHub

        from smnas.modular.structure import supernet_model_cfg
        from smnas.testing import build_detector, demo_batch
        from supernet.algorithm import SandwichDistributed
        from tests.supernet.common import RCNN, CaptureGrads
        from tests.supernet.common import TINY_SPACE as space

        results = {}
        for average_members in modes:
            cfg = dict(type='SandwichSupernet', architecture=supernet_model_cfg(RCNN, space, 3),
                       space=space.to_dict(), num_random_subnets=1, average_members=average_members)
            model = build_detector(cfg, seed=rank)  # different init per rank: the wrapper syncs it
            ddp = SandwichDistributed(model)
            MessageHub.get_current_instance().update_info('iter', 4)
            data = demo_batch(batch_size=1, size=(64, 64 + 32 * rank))  # each rank its own data
            optim = CaptureGrads(torch.optim.SGD(model.parameters(), lr=0.0))
            torch.manual_seed(11)  # the same RoI sampling in both steps
            model.train_step(data, optim)  # no sync: this rank's own gradients
            local = optim.grads
            torch.manual_seed(11)
            ddp.train_step(data, optim)    # synced
            synced = optim.grads
            members = [str(s) for _, s in model.sandwich_members(4)]
            gathered = [None] * world
            dist.all_gather_object(gathered, (members, local, synced))
            flat = torch.cat([p.detach().flatten() for p in model.parameters()])
            weights = [None] * world
            dist.all_gather_object(weights, flat)
            results[average_members] = dict(gathered=gathered, weights=weights)
        if rank == 0:
            torch.save(results, out)
    finally:
        _close()


@pytest.fixture(scope='module')
def sandwich_steps(tmp_path_factory):
    """One two-rank run of the wrapper's step in each averaging mode."""
    return _spawn(_sandwich_worker, tmp_path_factory.mktemp('ddp'), [True, 'per_weight'])


@pytest.mark.parametrize('average_members', [True, 'per_weight'])
def test_the_wrapper_averages_the_ranks_gradients(sandwich_steps, average_members):
    """Also when each member's gradients are first taken apart (per_weight): the ranks are
    averaged after the members are combined."""
    r = sandwich_steps[average_members]
    (m0, local0, synced0), (m1, local1, synced1) = r['gathered']
    assert m0 == m1  # the same subnets on both ranks, without communication
    torch.testing.assert_close(r['weights'][0], r['weights'][1])  # rank 0's weights broadcast
    compared = 0
    for a, b, s0, s1 in zip(local0, local1, synced0, synced1):
        if a is None and b is None:
            assert s0 is None and s1 is None
            continue
        zero = torch.zeros_like(a if a is not None else b)
        mean = ((a if a is not None else zero) + (b if b is not None else zero)) / 2
        torch.testing.assert_close(s0, mean, rtol=1e-5, atol=1e-7)
        torch.testing.assert_close(s1, mean, rtol=1e-5, atol=1e-7)
        compared += 1
    assert compared > 10
    # The ranks saw different data, so the mean differs from either rank's own gradient.
    assert any(a is not None and not torch.allclose(a, s) for a, s in zip(local0, synced0))
