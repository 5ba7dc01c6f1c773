"""Timing a supernet's training steps, for the benchmarks that compare ways to train it
(processes and threads, precision) side by side."""
import statistics
from pathlib import Path
from typing import Optional


def supernet_step_seconds(config: str, procs: int, iters: int, work_dir: Path,
                          cfg_options: Optional[dict] = None) -> float:
    """Median logged sandwich-step time of ``config``'s supernet trained ``iters`` steps by
    ``procs`` data-parallel processes (the config's batch split over them), without
    validation, in its own process (:func:`smnas.engine.jobs.train_supernet`).

    Args:
        config: the supernet config.
        procs: local data-parallel processes (1: one process on every core).
        iters: sandwich steps; the first 2 (warm-up) are left out of the median.
        work_dir: a new folder for the run.
        cfg_options: overrides of the config (dotted keys), e.g. ``{'amp': 'bf16'}``.

    Returns:
        Seconds per sandwich step.

    Raises:
        ValueError: ``iters`` < 3, which leaves no step to time.
    """
    from smnas.benchmarks.records import logged_step_times
    from smnas.engine import read_config
    from smnas.engine.jobs import per_process_batch, train_supernet

    if iters < 3:
        raise ValueError(f'iters={iters}: the first 2 steps are warm-up, give 3 or more')
    cfg = read_config(config, cfg_options)
    cfg.train_dataloader.batch_size = per_process_batch(cfg.train_dataloader.batch_size, procs)
    cfg.train_cfg.max_iters = iters
    cfg.val_dataloader = cfg.val_cfg = cfg.val_evaluator = None  # timing training steps only
    cfg.default_hooks.logger.interval = 1
    cfg.default_hooks.checkpoint.interval = iters
    work_dir.mkdir(parents=True)
    cfg.dump(str(work_dir / 'config.py'))
    train_supernet(work_dir / 'config.py', work_dir, iters, work_dir / 'train.log', procs=procs)
    steps = logged_step_times(work_dir)
    return statistics.median([steps[k] for k in sorted(steps)][2:])


def ends_and_random(space, n: int, seed: int = 0) -> list:
    """``n`` distinct subnet strings of ``space``: its min and max, then seeded random
    ones (the subnets a scoring benchmark times; the ends bound the cost range).

    Args:
        space: a :class:`supernet.space.ModularSpace`.
        n: how many (fewer if the space has fewer).
        seed: seed of the random ones.
    """
    import random

    rng = random.Random(seed)
    out = list(dict.fromkeys([str(space.min_subnet()), str(space.max_subnet())]))
    for _ in range(100 * n):
        if len(out) >= n:
            break
        s = str(space.sample(rng))
        if s not in out:
            out.append(s)
    return out[:n]


def evaluator_and_subnets(config: str, checkpoint: str, work_dir: str, n: int, seed: int = 0, **kwargs):
    """A scoring benchmark's setup: the config's data prepared, an
    :class:`~smnas.evaluation.inherited.InheritedEvaluator` of ``checkpoint`` (``kwargs``
    passed on) and :func:`ends_and_random`'s ``n`` subnets.

    Returns:
        (evaluator, subnet strings).
    """
    from smnas.data.prepare import prepare_data
    from smnas.engine import read_config
    from smnas.evaluation.inherited import InheritedEvaluator

    cfg = read_config(config)
    prepare_data(cfg.get('prepare_data'))
    ev = InheritedEvaluator(cfg, checkpoint, work_dir, **kwargs)
    return ev, ends_and_random(ev.space, n, seed)
