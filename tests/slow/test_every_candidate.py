"""Slow: every structure of the full space builds and runs a forward pass at tiny input.

Input size does not change a detector's modules, so each of the 1146 structures is
built once (4584 candidates / 4 input sizes); about an hour on 2 CPU cores:
    .venv/bin/python -m pytest -m slow tests/slow/test_every_candidate.py
"""
import pytest
import torch

from smnas.structural import StructuralSpace
from smnas.structural.builder import build_model_cfg
from smnas.testing import build_detector, demo_batch

SPACE = StructuralSpace()
STRUCTURES = sorted({str(c).rsplit('_', 1)[0]: c for c in SPACE.candidates()}.items())


@pytest.mark.slow
@pytest.mark.parametrize('name, cand', STRUCTURES, ids=[n for n, _ in STRUCTURES])
def test_structure_builds_and_predicts(name, cand):
    model = build_detector(build_model_cfg(cand, 3, fpn_channels=64, fc_channels=64), seed=0)
    model.eval()
    with torch.no_grad():
        out = model.test_step(demo_batch(batch_size=1, size=(64, 64)))
    assert out[0].pred_instances.bboxes.shape[-1] == 4
