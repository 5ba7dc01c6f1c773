"""Variations of one training recipe without rewriting it by hand: its schedule
rescaled, or its seed changed."""
from mmengine.config import Config

__all__ = ['rescale_schedule', 'with_seed']


def rescale_schedule(cfg: Config, max_iters: int) -> Config:
    """Set an iteration-based schedule to ``max_iters``, keeping its shape.

    Step milestones move in proportion (a decay at 75% of the old length stays at 75%),
    schedulers that ended with the old schedule end with the new one, a warm-up keeps
    its length unless the new schedule is shorter, and the validation and checkpoint
    intervals are capped at the new length.

    Args:
        cfg: a config with ``train_cfg.max_iters`` (modified in place).
        max_iters: the new number of iterations.

    Returns:
        ``cfg``.

    Raises:
        ValueError: ``max_iters`` < 1, or the schedule is epoch-based.
    """
    if max_iters < 1:
        raise ValueError(f'max_iters must be at least 1, got {max_iters}')
    train_cfg = cfg.get('train_cfg') or {}
    if 'max_iters' not in train_cfg:
        raise ValueError('rescale_schedule needs an iteration-based schedule (train_cfg.max_iters); '
                         f'this config has train_cfg={dict(train_cfg)}')
    old = int(train_cfg['max_iters'])
    ratio = max_iters / old
    train_cfg['max_iters'] = max_iters
    if train_cfg.get('val_interval'):
        train_cfg['val_interval'] = min(int(train_cfg['val_interval']), max_iters)
    schedulers = cfg.get('param_scheduler') or []
    for s in [schedulers] if isinstance(schedulers, dict) else schedulers:
        if s.get('by_epoch', True) and s.get('end', None) is not None:
            raise ValueError(f'{s.get("type")} is epoch-based (by_epoch=True); only iteration-based '
                             f'schedules can be rescaled')
        if 'milestones' in s:
            s['milestones'] = [max(1, min(max_iters - 1, round(m * ratio))) for m in s['milestones']]
        if s.get('end') is not None and (int(s['end']) >= old or int(s['end']) > max_iters):
            s['end'] = max_iters
        if s.get('begin') is not None and int(s['begin']) >= max_iters:
            s['begin'] = 0
    ckpt = (cfg.get('default_hooks') or {}).get('checkpoint')
    if ckpt and ckpt.get('interval'):
        ckpt['interval'] = min(int(ckpt['interval']), max_iters)
    return cfg


def with_seed(cfg: Config, seed: int) -> Config:
    """The same training with another random seed (``randomness.seed``; its other keys,
    such as ``deterministic``, are kept): repeated trainings measure training noise.

    Args:
        cfg: a training config (modified in place).
        seed: the seed.

    Returns:
        ``cfg``.
    """
    cfg.randomness = dict(cfg.get('randomness') or {}, seed=int(seed))
    return cfg
