"""Score subnets with inherited weights into a shared store, in one process or several.

Scoring a subnet (the val images' forward, COCO evaluation, its bootstrap and the val loss)
is partly single-threaded Python, so on a CPU several processes of one thread each can
score more subnets per hour than one process on every core, and on a many-core machine or
a GPU they are how the cores get used at all. Each worker loads the supernet once and
stores every score as soon as it has it (:class:`~smnas.benchmarks.store.JsonStore`
serialises the writes), so a stopped run keeps every finished score and a rerun scores
only the rest.
"""
import contextlib
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Tuple

from .store import JsonStore


@dataclass(frozen=True, eq=False)
class Scorer:
    """One trained supernet (or a few-shot part of one) that scores subnets.

    Args:
        cfg: its config (an mmengine ``Config``; picklable, so a worker process gets it).
        checkpoint: its checkpoint.
        work_dir: where its evaluation Runner logs (a worker adds ``_w<i>``).
    """
    cfg: object
    checkpoint: str
    work_dir: str


@dataclass(frozen=True)
class ScoringOptions:
    """What every subnet's score is made of.

    Args:
        bootstrap: resamples of the val images for each ``mAP_se``.
        finetune_iters: fine-tune the subnet alone this many steps first (0: none); its
            time counts in the score's ``seconds``.
        finetune_lr: the fine-tune's learning rate (None: the evaluator's default).
        seed: seed of the val loss's samplers and of the fine-tune's batches.
    """
    bootstrap: int = 0
    finetune_iters: int = 0
    finetune_lr: Optional[float] = None
    seed: int = 0


def score_subnet(evaluator, arch: str, options: ScoringOptions) -> dict:
    """One subnet's inherited scores: mAP, mAP_50, mAP_se, the val loss and its terms (in
    one pass over the val images), and the seconds it took, fine-tune included.

    Args:
        evaluator: a :class:`~smnas.evaluation.inherited.InheritedEvaluator`.
        arch: the subnet.
        options: the scoring options.

    Returns:
        The stored score.
    """
    tune = (evaluator.finetuned(arch, options.finetune_iters, options.finetune_lr, seed=options.seed)
            if options.finetune_iters else contextlib.nullcontext(0.0))
    with tune as tune_seconds:
        t0 = time.time()
        m = evaluator.evaluate(arch, loss_seed=options.seed)
        return dict(mAP=m['mAP'], mAP_50=m['mAP_50'], mAP_se=m.get('mAP_se'), val_loss=m['val_loss'],
                    val_loss_terms=m.get('val_loss_terms'), seconds=time.time() - t0 + tune_seconds,
                    finetune_seconds=tune_seconds)


def _score_into(tasks: Sequence[Tuple[str, Scorer]], store: str, options: ScoringOptions, suffix: str = '',
                stored: Optional[Callable[[str, dict], None]] = None) -> None:
    """Score ``tasks`` in order in this process, each evaluator built once, every score
    stored at once under ``inherited.<arch>``."""
    from smnas.evaluation.inherited import InheritedEvaluator

    evaluators: Dict[Tuple[str, str], object] = {}  # by checkpoint and work dir (a config is not hashable)
    for arch, scorer in tasks:
        key = (scorer.checkpoint, scorer.work_dir)
        if key not in evaluators:
            evaluators[key] = InheritedEvaluator(scorer.cfg, scorer.checkpoint, scorer.work_dir + suffix,
                                                 bootstrap=options.bootstrap)
        score = score_subnet(evaluators[key], arch, options)
        with JsonStore(store).update() as state:
            state.setdefault('inherited', {})[arch] = score
        print(f'[score] {arch}: inherited mAP {score["mAP"]:.4f}, val loss {score["val_loss"]:.4f} '
              f'({score["seconds"]:.1f} s)', flush=True)
        if stored:
            stored(arch, score)


def _worker(tasks, store, options, suffix, threads) -> None:
    # A fresh interpreter (spawn): its share of the cores before the first op runs.
    import torch

    from smnas.register import register_all_modules

    torch.set_num_threads(threads)
    register_all_modules()  # the supernet's model types, as the parent process had them
    _score_into(tasks, store, options, suffix)


def score_subnets(tasks: Sequence[Tuple[str, Scorer]], store, options: ScoringOptions, jobs: int = 1,
                  stored: Optional[Callable[[str, dict], None]] = None, poll_seconds: float = 5.0) -> None:
    """Score every ``(arch, scorer)`` of ``tasks`` into ``store`` (``inherited.<arch>``).

    With ``jobs`` > 1 the tasks are dealt round robin (so that each worker's share spreads
    like ``tasks``' order) to ``jobs`` worker processes of ``cores // jobs`` threads each,
    started with ``spawn``; this process waits, and calls ``stored`` as their scores arrive.
    A stop (an exception or a signal's ``SystemExit`` here) terminates the workers; what
    they stored stays.

    Args:
        tasks: the subnets and the supernet that scores each, in the order to score them.
        store: the JSON store's path (a variant's state file).
        options: what a score is made of.
        jobs: worker processes (1: in this process, at its own thread count).
        stored: called with ``(arch, score)`` after each score is stored (with workers: once
            per new score seen in the store, at most every ``poll_seconds``).
        poll_seconds: how often the store is read while workers run.

    Raises:
        RuntimeError: a worker ended with an error (its output says which subnet); the
            other workers' scores are kept.
    """
    tasks = list(tasks)
    if jobs <= 1 or len(tasks) <= 1:
        _score_into(tasks, str(store), options, stored=stored)
        return
    import multiprocessing

    jobs = min(jobs, len(tasks))
    threads = max(1, (os.cpu_count() or 1) // jobs)
    ctx = multiprocessing.get_context('spawn')
    procs: List = []
    seen = set(JsonStore(store).read().get('inherited', {}))

    def report() -> None:
        scores = JsonStore(store).read().get('inherited', {})
        for arch, _ in tasks:
            if arch in scores and arch not in seen:
                seen.add(arch)
                if stored:
                    stored(arch, scores[arch])

    # Spawned children read OMP_NUM_THREADS at start-up, before torch sets its pool.
    env_before = os.environ.get('OMP_NUM_THREADS')
    os.environ['OMP_NUM_THREADS'] = str(threads)
    try:
        for i in range(jobs):
            p = ctx.Process(target=_worker, args=(tasks[i::jobs], str(store), options, f'_w{i}', threads),
                            name=f'score-worker-{i}')
            p.start()
            procs.append(p)
        while any(p.is_alive() for p in procs):
            for p in procs:
                p.join(timeout=poll_seconds / len(procs))
            report()
        report()
    finally:
        if env_before is None:
            os.environ.pop('OMP_NUM_THREADS', None)
        else:
            os.environ['OMP_NUM_THREADS'] = env_before
        for p in procs:
            if p.is_alive():
                p.terminate()
        for p in procs:
            p.join()
    failed = [p.name for p in procs if p.exitcode]
    if failed:
        raise RuntimeError(f'{", ".join(failed)} ended with an error (see their output above); every score '
                           f'they stored is kept in {Path(store)}: a rerun scores only the rest')
