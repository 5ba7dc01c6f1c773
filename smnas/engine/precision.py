"""Mixed-precision training: ``amp`` in a config (or a training tool's ``--amp``).

On a GPU this is mmdet's ``--amp``: mmengine's ``AmpOptimWrapper`` (float16 autocast with a
dynamic loss scale), or bfloat16 autocast where asked. On a CPU it is bfloat16 autocast
(:class:`CpuBf16OptimWrapper`): fast on CPUs with AMX or AVX512-BF16, slower than float32
on others, so float32 stays the default everywhere. mmcv's RoIAlign has no bfloat16 CPU
kernel, so there a two-stage detector's RoI stage runs in float32 (:func:`run_in_float32`).
"""
import contextlib
from typing import List, Optional

import torch
from mmengine.config import Config
from mmengine.optim import OptimWrapper
from mmengine.registry import OPTIM_WRAPPERS

__all__ = ['AMP_CHOICES', 'CpuBf16OptimWrapper', 'run_in_float32', 'with_amp']

#: what ``amp`` may be set to: 'auto' picks fp16 on a GPU and bf16 on a CPU
AMP_CHOICES = ('auto', 'fp16', 'bf16')
#: optimizer wrappers ``amp`` may replace (a config's own other type is kept and refused)
_PLAIN = ('OptimWrapper', 'AmpOptimWrapper', 'CpuBf16OptimWrapper')


def with_amp(cfg: Config, amp: Optional[str] = None) -> Config:
    """Switch a training config to mixed precision when ``amp`` (or the config's ``amp``
    key) asks for it.

    Args:
        cfg: an mmengine training config with an ``optim_wrapper`` (modified in place).
        amp: None or False (keep the config's ``amp``, float32 when it has none), True or
            'auto' (fp16 on a GPU, bf16 on a CPU), 'fp16' or 'bf16'.

    Returns:
        ``cfg``, with ``amp`` set to the precision chosen ('fp16'/'bf16') or False, and its
        ``optim_wrapper`` type changed accordingly.

    Raises:
        ValueError: an unknown precision, fp16 on a CPU (PyTorch's CPU autocast has no fast
            float16 convolutions), or an optimizer wrapper of another type than mmengine's
            plain or AMP ones.
    """
    choice = amp if amp not in (None, False) else cfg.get('amp', False)
    if choice in (None, False):
        cfg.amp = False
        return cfg
    choice = 'auto' if choice is True else str(choice)
    if choice not in AMP_CHOICES:
        raise ValueError(f'amp={choice!r}: expected one of {", ".join(AMP_CHOICES)} (or True/False)')
    cuda = torch.cuda.is_available()
    if choice == 'auto':
        choice = 'fp16' if cuda else 'bf16'
    wrapper = cfg.optim_wrapper
    kind = wrapper.get('type', 'OptimWrapper')
    if kind not in _PLAIN:
        raise ValueError(f'amp={choice!r} replaces the optimizer wrapper, but this config\'s is {kind!r}: '
                         f'set its mixed precision there instead')
    for key in ('loss_scale', 'dtype'):
        wrapper.pop(key, None)
    if cuda:
        # mmdet's --amp: float16 needs a loss scale (its gradients underflow), bfloat16 not
        wrapper.type = 'AmpOptimWrapper'
        if choice == 'fp16':
            wrapper.loss_scale = 'dynamic'
        else:
            wrapper.dtype = 'bfloat16'
    elif choice == 'fp16':
        raise ValueError('amp=fp16 needs a GPU: on a CPU use amp=bf16 (fast with AMX or AVX512-BF16)')
    else:
        wrapper.type = 'CpuBf16OptimWrapper'
    cfg.amp = choice
    return cfg


@OPTIM_WRAPPERS.register_module()
class CpuBf16OptimWrapper(OptimWrapper):
    """:class:`~mmengine.optim.OptimWrapper` whose forward context runs the model under
    bfloat16 autocast on the CPU, with every ``roi_head``'s parts in float32.

    bfloat16 has float32's exponent range, so its gradients need no loss scale; the
    parameters, their gradients and the optimizer's state stay float32."""

    @contextlib.contextmanager
    def optim_context(self, model: torch.nn.Module):
        with super().optim_context(model):
            handles = []
            for name, module in model.named_modules():
                if name == 'roi_head' or name.endswith('.roi_head'):
                    handles += run_in_float32(module, 'cpu')
            try:
                with torch.autocast(device_type='cpu', dtype=torch.bfloat16):
                    yield
            finally:
                for h in handles:
                    h.remove()


def run_in_float32(module: torch.nn.Module, device: str) -> List:
    """Hooks that run each called part of ``module`` (its children; a ModuleList's
    members) with autocast off and its floating-point tensor inputs in float32, however
    the caller's autocast is set. ``module`` itself may be entered through another method
    than ``forward`` (mmdet's ``roi_head.loss`` and ``roi_head.predict``), whose calls
    hooks do not see.

    Args:
        module: e.g. a two-stage detector's ``roi_head``.
        device: the autocast device type ('cpu' or 'cuda').

    Returns:
        The hook handles (remove them to undo).
    """
    def to_float(x):
        if torch.is_tensor(x) and x.is_floating_point():
            return x.float()
        if isinstance(x, (list, tuple)):
            return type(x)(to_float(v) for v in x)
        return x

    states = []

    def enter(mod, args):
        states.append(torch.is_autocast_enabled(device))
        torch.set_autocast_enabled(device, False)
        return to_float(args)

    def leave(mod, args, out):
        torch.set_autocast_enabled(device, states.pop())

    parts, todo = [], list(module.children())
    while todo:
        m = todo.pop()
        if isinstance(m, (torch.nn.ModuleList, torch.nn.ModuleDict)):
            todo.extend(m.children())
        else:
            parts.append(m)
    handles = []
    for m in parts:
        handles += [m.register_forward_pre_hook(enter), m.register_forward_hook(leave)]
    return handles
