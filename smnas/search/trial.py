"""Train, evaluate and measure one candidate, isolated in its own process.

``run_trial_subprocess`` is what a search calls: it writes the candidate's config
into the trial folder, runs ``python -m smnas.search.trial`` on it with a timeout,
and returns the result. A crash, a NaN loss, an out-of-memory kill or a timeout
becomes a :class:`TrialFailed` carrying the cause and the log's tail; the search
goes on. Results are written atomically to ``result.json`` (or ``failure.json``)
in the trial folder, keyed by architecture, so a rerun reuses them instead of
training again, and an interrupted training resumes from its last checkpoint.
"""
import argparse
import fcntl
import json
import signal
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Dict, Optional

from ..engine.jobs import read_tail, run_isolated
from ..records import TrialResult
from ..utils import atomic_write_json

RESULT = 'result.json'
FAILURE = 'failure.json'


class TrialFailed(Exception):
    """A candidate could not be trained or measured; ``str()`` says why."""


def read_stored(trial_dir: Path) -> Optional[dict]:
    """The stored outcome of a trial folder: its result, its failure, or None."""
    for name in (RESULT, FAILURE):
        p = Path(trial_dir) / name
        if p.is_file():
            try:
                return json.loads(p.read_text())
            except json.JSONDecodeError:
                return None
    return None


def write_result(trial_dir: Path, result: TrialResult) -> TrialResult:
    """Store a finished trial's result (``status='ok'``, keyed by ``arch``) atomically."""
    atomic_write_json(Path(trial_dir) / RESULT, result.to_dict(), indent=1)
    return result


def read_result(trial_dir: Path) -> Optional[TrialResult]:
    """The finished result stored in a trial folder, or None (no result, or a failure)."""
    stored = read_stored(trial_dir)
    return TrialResult.from_dict(stored) if stored and stored.get('status') == 'ok' else None


def write_failure(trial_dir: Path, arch: str, error: str, **details) -> dict:
    """Store why a trial failed (``status='failed'``) atomically; ``details`` go beside it."""
    failure = dict(status='failed', arch=arch, error=error, **details)
    atomic_write_json(Path(trial_dir) / FAILURE, failure, indent=1)
    return failure


def _cause(log: str, returncode: int) -> str:
    """The most telling line of a failed trial's log."""
    for marker in ('NonFiniteLossError', 'OutOfMemoryError', 'out of memory', 'Error:', 'Error'):
        lines = [ln for ln in log.splitlines() if marker in ln]
        if lines:
            return lines[-1].strip()[:500]
    if returncode < 0:
        return f'killed by signal {signal.Signals(-returncode).name} (out of memory?)'
    return f'exit code {returncode}'


def run_trial_subprocess(cfg, trial_dir: Path, timeout: Optional[float] = None,
                         env: Optional[Dict[str, str]] = None) -> TrialResult:
    """Run one candidate in a child process and return its result.

    Args:
        cfg: the candidate's complete mmengine ``Config`` (with ``candidate`` and
            ``measure`` keys as :func:`main` expects).
        trial_dir: the trial's folder (config, logs, checkpoints, result).
        timeout: seconds before the child is killed (None: no limit).
        env: extra environment variables for the child (GPU selection, threads).

    Returns:
        The result (also in ``trial_dir/result.json``).

    Raises:
        TrialFailed: training or measurement failed; ``trial_dir/failure.json`` holds
            the cause and the log's tail.
    """
    trial_dir = Path(trial_dir)
    trial_dir.mkdir(parents=True, exist_ok=True)
    with _trial_lock(trial_dir, timeout) as lock_fd:
        stored = read_result(trial_dir)
        if stored is not None:
            return stored
        return _run_locked(cfg, trial_dir, timeout, env, lock_fd)


@contextmanager
def _trial_lock(trial_dir: Path, timeout: Optional[float]):
    """Hold ``trial_dir/.lock`` while a trial runs in it.

    The child inherits the lock, so a training left running by a killed search (or
    by a worker on another machine sharing the folder) keeps it: whoever comes next
    waits for that training's result instead of starting a second one beside it.
    """
    f = open(trial_dir / '.lock', 'a')
    deadline = None if timeout is None else time.time() + timeout + 60
    try:
        while True:
            try:
                fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if deadline is not None and time.time() > deadline:
                    raise TrialFailed(f'{trial_dir} stayed locked by another process') from None
                time.sleep(2)
        yield f.fileno()
    finally:
        f.close()


def _run_locked(cfg, trial_dir: Path, timeout: Optional[float], env: Optional[Dict[str, str]],
                lock_fd: int) -> TrialResult:
    for name in (RESULT, FAILURE):  # a retried trial starts clean (checkpoints are kept)
        (trial_dir / name).unlink(missing_ok=True)
    cfg_path = trial_dir / 'config.py'
    cfg.dump(str(cfg_path))
    log_path = trial_dir / 'trial.log'
    t0 = time.time()
    rc, cause = run_isolated([sys.executable, '-m', 'smnas.search.trial', str(cfg_path), '--work-dir',
                              str(trial_dir)], log_path, timeout, env, pass_fds=(lock_fd, ))
    result = read_result(trial_dir)
    if rc == 0 and result is not None:
        return result
    log_tail = read_tail(log_path, 4000)
    cause = cause or _cause(log_tail, rc)
    write_failure(trial_dir, cfg.candidate['arch'], cause, returncode=rc, seconds=round(time.time() - t0, 1),
                  log=str(log_path), log_tail=log_tail[-2000:])
    raise TrialFailed(cause)


def keep_detections(cfg, prefix: Path) -> Optional[str]:
    """Make a COCO test evaluator write its detections to ``<prefix>.bbox.json``
    (the input of the mAP's bootstrap); None for other evaluators."""
    ev = cfg.get('test_evaluator')
    if not isinstance(ev, dict) or ev.get('type') != 'CocoMetric' or not ev.get('ann_file'):
        return None
    ev['outfile_prefix'] = str(prefix)
    return str(prefix)


def score_noise(runner, cfg, prefix: Optional[str]) -> dict:
    """``mAP_se``, ``mAP_ci95`` and ``detections`` of a tested model: a bootstrap over the
    test images (``measure.bootstrap`` resamples, default 200; 0: none)."""
    from ..evaluation.bootstrap import ImageBootstrap

    n = int(cfg.get('measure', {}).get('bootstrap', 200))
    path = f'{prefix}.bbox.json' if prefix else None
    if not n or path is None or not Path(path).is_file():
        return {}
    ds = runner.test_dataloader.dataset
    ids = [ds.get_data_info(i)['img_id'] for i in range(len(ds))]
    s = ImageBootstrap(cfg.test_evaluator['ann_file'], ids).score(path, n=n)
    return dict(mAP_se=round(s['se'], 5), mAP_ci95=[round(v, 5) for v in s['ci95']], detections=path)


def main(argv=None) -> int:
    """Child process: train (resuming), evaluate, measure, write ``result.json``."""
    p = argparse.ArgumentParser(description='Train, evaluate and measure one candidate.')
    p.add_argument('config')
    p.add_argument('--work-dir', required=True)
    args = p.parse_args(argv)

    from mmengine.config import Config
    from mmengine.runner import Runner
    from supernet.engine import bbox_scores, unwrap_model

    from ..engine import with_amp, with_run_checks
    from ..evaluation import count_flops_params, measure_latency
    from ..utils import collect_env_versions

    cfg = Config.fromfile(args.config)
    cfg.work_dir = args.work_dir
    cfg.resume = True  # continue an interrupted training from its last checkpoint
    cfg.load_from = None
    with_amp(with_run_checks(cfg))  # the config's `amp` key, if any: mixed-precision training
    dets_prefix = keep_detections(cfg, Path(args.work_dir) / 'detections')
    t0 = time.time()
    runner = Runner.from_cfg(cfg)
    runner.train()
    train_s = time.time() - t0
    metrics = runner.test()
    noise = score_noise(runner, cfg, dets_prefix)
    model = unwrap_model(runner.model)
    size = tuple(cfg.candidate['input_size'])
    measure = cfg.get('measure', {})
    latency = measure_latency(model, size, warmup=measure.get('warmup', 3),
                              repeats=measure.get('repeats', 10))
    cost = count_flops_params(model, size)
    result = TrialResult(
        arch=cfg.candidate['arch'], input_size=list(size), **bbox_scores(metrics),
        metrics={k: float(v) for k, v in metrics.items() if isinstance(v, (int, float))},
        train_seconds=round(train_s, 1), iters=int(cfg.train_cfg.get('max_iters', 0)),
        versions=collect_env_versions(), **noise, **latency, **cost)
    write_result(Path(args.work_dir), result)
    return 0


if __name__ == '__main__':
    sys.exit(main())
