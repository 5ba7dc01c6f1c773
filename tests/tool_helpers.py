"""Running the tools in a subprocess on tiny data, as a user would."""
import importlib.util
import subprocess
import sys
from pathlib import Path

from smnas.testing import REPO_ROOT


# The tiny data has the generator's default 5 classes; the quickstart supernet config
# predicts the embedded dataset's 6 (the run checks refuse a mismatch before training).
TINY_SUPERNET_CLASSES = 'model.architecture.num_classes=5'
# The quickstart supernet's space shrunk to tiny widths, with the tiny data's classes.
TINY_SUPERNET_SPACE = ['model.space.bases=[16,24]', 'model.space.neck_channels=[32,64]',
                       'model.space.head_channels=[32,64]', 'model.num_random_subnets=1',
                       TINY_SUPERNET_CLASSES]

# The benchmarks' tiny space: two blocks in the second stage, two random members per step.
TINY_BENCH_SPACE = ['model.space.bases=[16,24]', 'model.space.neck_channels=[32,64]',
                    'model.space.head_channels=[32,64]', 'model.space.max_depths=[1,2,1,1]',
                    'model.num_random_subnets=2', TINY_SUPERNET_CLASSES]


def load_bench(name: str):
    """A script of benchmarks/ as a module (they are scripts, not a package)."""
    spec = importlib.util.spec_from_file_location(name, REPO_ROOT / 'benchmarks' / f'{name}.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def tiny_options(data_root: Path, iters: int):
    """--cfg-options that point a config at tiny data, 96x64 inputs, ``iters`` iterations."""
    root = f'{data_root}/'
    opts = [
        f'train_dataloader.dataset.data_root={root}', f'val_dataloader.dataset.data_root={root}',
        f'test_dataloader.dataset.data_root={root}',
        f'val_evaluator.ann_file={root}annotations/instances_val.json',
        f'test_evaluator.ann_file={root}annotations/instances_val.json',
        f'train_cfg.max_iters={iters}', f'train_cfg.val_interval={iters}',
        'train_dataloader.batch_size=2', 'default_hooks.logger.interval=1',
        'prepare_data=None',  # the tiny data is made by the test
        f'default_hooks.checkpoint.interval={iters}',
        'train_dataloader.dataset.pipeline.2.scale=(96,64)',
        'val_dataloader.dataset.pipeline.1.scale=(96,64)',
        'test_dataloader.dataset.pipeline.1.scale=(96,64)',
    ]
    for loader in ('train', 'val', 'test'):
        opts += [f'{loader}_dataloader.num_workers=0', f'{loader}_dataloader.persistent_workers=False']
    return opts


def run_tool(*args, module: bool = False):
    """Run ``python TOOL ARGS`` (or ``python -m ...`` with ``module``) in the repository root;
    assert it succeeds and return its output."""
    cmd = [sys.executable, *(['-m'] if module else []), *args]
    proc = subprocess.run(cmd, cwd=REPO_ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc.stdout + proc.stderr


def tiny_supernet_cfg_options(data_root: Path, iters: int) -> dict:
    """The quickstart supernet config's overrides for tiny data and a tiny space
    (:func:`tiny_options` + :data:`TINY_SUPERNET_SPACE`), parsed as the tools parse
    ``--cfg-options``: for code that takes a dict."""
    import argparse

    from mmengine.config import DictAction

    p = argparse.ArgumentParser()
    p.add_argument('--cfg-options', nargs='+', action=DictAction)
    return p.parse_args(['--cfg-options', *tiny_options(data_root, iters), *TINY_SUPERNET_SPACE]).cfg_options
