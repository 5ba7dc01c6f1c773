"""Every supported detector type as a supernet: gradients at max, a sandwich step."""
import pytest
import torch
from mmengine.logging import MessageHub
from mmengine.optim import OptimWrapper

from smnas.testing import build_detector, demo_batch
from smnas.modular.structure import supernet_model_cfg

from .common import STRUCTURES, tiny_space


@pytest.mark.parametrize('structure', STRUCTURES)
def test_every_parameter_gets_a_gradient_at_max(structure):
    torch.manual_seed(0)
    model = build_detector(dict(type='SandwichSupernet',
                                architecture=supernet_model_cfg(structure, tiny_space(structure), 3),
                                space=tiny_space(structure).to_dict(), num_random_subnets=0))
    det = model.architecture
    for m in det.modules():  # undo zero-inits so that every branch passes gradients
        if isinstance(m, torch.nn.GroupNorm):
            torch.nn.init.ones_(m.weight)
    model.mutator.set_max()
    data = model.data_preprocessor(demo_batch(batch_size=2, size=(96, 96)), True)
    losses = det.loss(data['inputs'], data['data_samples'])
    model.parse_losses(losses)[0].backward()
    missing = [n for n, p in det.named_parameters() if p.grad is None or not torch.isfinite(p.grad).all()]
    # The max subnet doubles at the first block of stages 2-4, so only those blocks
    # project their shortcut; the other projections are idle by construction.
    assert all('.proj' in n for n in missing), missing
    assert not [n for n in missing if '.0.proj' in n and not n.startswith('backbone.stages.0')]


@pytest.mark.parametrize('structure', STRUCTURES[1:])
def test_sandwich_step_for_each_detector_type(structure):
    torch.manual_seed(0)
    model = build_detector(dict(type='SandwichSupernet',
                                architecture=supernet_model_cfg(structure, tiny_space(structure), 3),
                                space=tiny_space(structure).to_dict(), num_random_subnets=1, distill='both'))
    MessageHub.get_current_instance().update_info('iter', 0)
    optim = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.01))
    log = model.train_step(demo_batch(batch_size=2, size=(96, 96)), optim)
    for member in ('max', 'min', 'random0'):
        assert torch.isfinite(log[f'{member}.loss'])
    # features and the dense head's outputs always; the RoI head's in two-stage detectors
    roi = {'min.loss_distill_roi_cls', 'min.loss_distill_roi_reg'} if 'retina' not in structure else set()
    assert {k for k in log if k.startswith('min.loss_distill')} == \
        {'min.loss_distill', 'min.loss_distill_cls', 'min.loss_distill_reg'} | roi
