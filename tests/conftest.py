"""Fixtures shared by the test modules. Every test runs with smnas's and supernet's
types registered (configs do it through ``custom_imports``; tests build models
directly)."""
import os

import pytest

from smnas.data.synthetic import SyntheticConfig, generate
from smnas.register import register_all_modules

register_all_modules()


def _split_threads_among_workers() -> None:
    """Under pytest-xdist (pytest.ini), give each worker its share of the cores, in this
    process and in the tools it starts (OMP_NUM_THREADS): workers that each ran on every core
    would oversubscribe them. A thread count set outside (OMP_NUM_THREADS) is kept."""
    workers = int(os.environ.get('PYTEST_XDIST_WORKER_COUNT', '1'))
    if workers <= 1 or 'OMP_NUM_THREADS' in os.environ:
        return
    import torch

    threads = max(1, (os.cpu_count() or 1) // workers)
    os.environ['OMP_NUM_THREADS'] = str(threads)
    torch.set_num_threads(threads)


_split_threads_among_workers()


@pytest.fixture(scope='module')
def tiny_data(tmp_path_factory):
    """A tiny synthetic dataset (96x64, 8 train / 4 val images) for one test module."""
    root = tmp_path_factory.mktemp('synthetic')
    generate(SyntheticConfig(image_size=(96, 64), num_train=8, num_val=4, seed=3), root)
    return root
