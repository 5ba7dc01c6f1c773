"""Fixtures shared by the test modules. Every test runs with smnas's and supernet's
types registered (configs do it through ``custom_imports``; tests build models
directly)."""
import pytest

from smnas.data.synthetic import SyntheticConfig, generate
from smnas.register import register_all_modules

register_all_modules()


@pytest.fixture(scope='module')
def tiny_data(tmp_path_factory):
    """A tiny synthetic dataset (96x64, 8 train / 4 val images) for one test module."""
    root = tmp_path_factory.mktemp('synthetic')
    generate(SyntheticConfig(image_size=(96, 64), num_train=8, num_val=4, seed=3), root)
    return root
