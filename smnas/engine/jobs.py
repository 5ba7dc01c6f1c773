"""Jobs isolated in their own process, shared by the pipeline, the tools and the
benchmarks: :func:`run_isolated` runs any command in its own process group (killed
with everything it started on a timeout or when the caller stops); trials of the
searches and from-scratch trainings go through it in
:func:`smnas.search.trial.run_trial_subprocess`, supernet trainings in
:func:`train_supernet`.
"""
import os
import re
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Callable, Dict, Optional, Sequence, Tuple

from ..utils.paths import REPO_ROOT


class JobFailed(RuntimeError):
    """An isolated job failed; the message says where its log is and how to resume."""


class JobsStopped(BaseException):
    """Raised in a job's thread whose process :func:`run_parallel` killed because the run
    stops: not a failure of that job (nothing records it as one), so a rerun resumes it.
    A ``BaseException``, as ``KeyboardInterrupt``: ``except Exception`` does not swallow it."""


# Process groups of the isolated jobs running now, so that run_parallel can stop every
# one of them when its caller stops (a worker thread never sees the caller's signal).
_RUNNING: Dict[int, subprocess.Popen] = {}
_RUNNING_LOCK = threading.Lock()
_STOPPING = threading.Event()


def run_isolated(cmd: Sequence[str], log_path=None, timeout: Optional[float] = None,
                 env: Optional[Dict[str, str]] = None,
                 pass_fds: Sequence[int] = ()) -> Tuple[int, Optional[str]]:
    """Run ``cmd`` in a new process group and wait for it.

    Args:
        cmd: the command.
        log_path: file its stdout and stderr are appended to (None: this process's).
        timeout: seconds before the whole group is killed (None: no limit).
        env: extra environment variables.
        pass_fds: file descriptors the child inherits (e.g. a lock it must hold).

    Returns:
        (exit code, None) or, after a timeout, (-9, ``'timeout: ...'``).

    Raises:
        BaseException: whatever stops this process (KeyboardInterrupt, SystemExit from
            a signal), after killing the group: no training outlives its caller.
    """
    log = open(log_path, 'ab') if log_path is not None else None
    try:
        with _RUNNING_LOCK:
            if _STOPPING.is_set():
                raise JobsStopped(f'not started, the run stops: {" ".join(map(str, cmd))}')
            proc = subprocess.Popen(list(cmd), stdout=log, stderr=subprocess.STDOUT if log else None,
                                    env=dict(os.environ, **(env or {})), start_new_session=True,
                                    pass_fds=tuple(pass_fds))
            _RUNNING[proc.pid] = proc
        try:
            rc = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            _kill_group(proc)
            return -9, f'timeout: still running after {timeout:.0f}s'
        except BaseException:
            _kill_group(proc)
            raise
        finally:
            with _RUNNING_LOCK:
                _RUNNING.pop(proc.pid, None)
        if _STOPPING.is_set():
            raise JobsStopped(f'killed, the run stops: {" ".join(map(str, cmd))}')
        return rc, None
    finally:
        if log is not None:
            log.close()


def _kill_group(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:  # the group ended on its own meanwhile
        pass
    proc.wait()


def run_parallel(jobs: Sequence[Callable[[], object]], workers: int) -> list:
    """Run ``jobs`` (callables; typically each waits on an isolated process, as
    :func:`smnas.search.trial.run_trial_subprocess`) ``workers`` at a time, in threads.

    When the caller stops (a signal's ``SystemExit``, ``KeyboardInterrupt``) or a job
    raises, the jobs not started are cancelled and every isolated process still running
    is killed with its group; their threads end with :class:`JobsStopped`, not a failure,
    so a rerun resumes them (from their checkpoints). Without this a thread pool would
    wait for every queued job before letting its caller exit.

    Args:
        jobs: the callables.
        workers: at most this many at once (1: in order, in this thread).

    Returns:
        The jobs' return values, in order.

    Raises:
        BaseException: what stopped the caller, or the first job's exception.
    """
    from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait

    if workers <= 1 or len(jobs) <= 1:
        return [job() for job in jobs]
    pool = ThreadPoolExecutor(workers)
    futures = [pool.submit(job) for job in jobs]
    try:
        while True:  # a timeout, so that a signal reaches this thread promptly
            done, pending = wait(futures, timeout=1.0, return_when=FIRST_EXCEPTION)
            failed = [f for f in done if f.exception() is not None]
            if failed:
                raise failed[0].exception()
            if not pending:
                return [f.result() for f in futures]
    except BaseException:
        with _RUNNING_LOCK:
            _STOPPING.set()
            running = list(_RUNNING.values())
        try:
            for f in futures:
                f.cancel()
            for proc in running:
                _kill_group(proc)
            pool.shutdown(wait=True, cancel_futures=True)
        finally:
            _STOPPING.clear()
        raise
    finally:
        pool.shutdown(wait=True)


# mmengine's LoggerHook line of an iteration: "Iter(train) [ 50/300]  ... eta: 0:05:12 ..."
_ITER = re.compile(r'Iter\(train\)\s*\[\s*(\d+)/(\d+)\].*?eta:\s*((?:\d+ days?, )?\d+:\d\d:\d\d)')


class LogProgress(threading.Thread):
    """Follows a training's log file and reports each new iteration line: a quiet
    console can show one progress line per logged step instead of the log itself.

    Args:
        path: the log file (it may not exist yet).
        report: called as ``report(iteration, total, eta)`` (``eta``: mmengine's string).
        poll: seconds between reads.
    """

    def __init__(self, path, report: Callable[[int, int, str], None], poll: float = 2.0):
        super().__init__(daemon=True)
        self.path, self.report, self.poll = Path(path), report, poll
        self._done = threading.Event()
        self._pos, self._last = 0, None

    def read(self) -> None:
        """Report the iteration lines written since the last read (the newest one only)."""
        try:
            with open(self.path, 'rb') as f:
                f.seek(self._pos)
                text = f.read().decode('utf-8', errors='replace')
        except OSError:
            return
        cut = text.rfind('\n') + 1  # whole lines only
        self._pos += len(text[:cut].encode('utf-8'))
        found = _ITER.findall(text[:cut])
        if found and found[-1] != self._last:
            self._last = found[-1]
            it, total, eta = found[-1]
            self.report(int(it), int(total), eta)

    def run(self) -> None:
        """The thread's loop: read every ``poll`` seconds until stopped, then once more."""
        while not self._done.wait(self.poll):
            self.read()
        self.read()

    def stop(self) -> None:
        """Stop following, after reporting what the log holds now."""
        self._done.set()
        self.join()


def supernet_checkpoint(work_dir, max_iters: int) -> Path:
    """The final checkpoint a supernet training of ``max_iters`` writes in ``work_dir``."""
    return Path(work_dir) / f'iter_{int(max_iters)}.pth'


def _has_cuda() -> bool:
    import torch

    return torch.cuda.is_available()


def per_process_batch(total: int, procs: int) -> int:
    """The per-process batch of a ``procs``-process data-parallel run of ``total`` images
    per step.

    Raises:
        ValueError: ``total`` does not split evenly.
    """
    if procs < 1 or total % procs:
        raise ValueError(f'a batch of {total} images does not split over {procs} processes: '
                         f'choose a process count that divides it')
    return total // procs


def read_tail(path, n_bytes: int) -> str:
    """The last ``n_bytes`` of a file as text ('' when it is missing or unreadable).

    Args:
        path: the file (a job's log).
        n_bytes: how much of its end to read.

    Returns:
        The text, undecodable bytes replaced.
    """
    try:
        with open(path, 'rb') as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - n_bytes))
            return f.read().decode('utf-8', errors='replace')
    except OSError:
        return ''


_ERROR_LINE = re.compile(r'^\s*(?:\[rank\d+\]:\s*)?[A-Za-z_][\w.]*(?:Error|Exception|Failed|Exit):')


def failure_excerpt(log_path, last_lines: int = 15, window: int = 2000) -> str:
    """What a failed job's log says about why: the distinct exception lines among its
    last ``window`` lines (under torchrun each worker's own error comes before the
    launcher's ``ChildFailedError``, often far above the end), then its last lines.

    Args:
        log_path: the job's log (a missing or unreadable file gives '').
        last_lines: how many of its last non-blank lines to quote.
        window: how far back from the end to look for exceptions.

    Returns:
        The excerpt ('' for an empty or missing log).
    """
    lines = read_tail(log_path, 512 * 1024).splitlines()[-window:]  # a long log's end is enough
    lines = [line.rstrip() for line in lines if line.strip()]
    errors = list(dict.fromkeys(line.strip() for line in lines if _ERROR_LINE.match(line)))
    parts = []
    if errors:
        parts.append('errors:\n' + '\n'.join(f'  {e}' for e in errors[-8:]))
    if lines:
        parts.append('last lines:\n' + '\n'.join(f'  {line}' for line in lines[-last_lines:]))
    return '\n'.join(parts)


def train_supernet(cfg_path, work_dir, max_iters: int, log_path=None,
                   progress: Optional[Callable[[int, int, str], None]] = None, procs: int = 1) -> Path:
    """Train the supernet of ``cfg_path`` in its own process, resuming an interrupted
    run; nothing is trained when the final checkpoint exists.

    With ``procs`` > 1 it trains data-parallel in that many local processes (``torchrun``,
    gloo on a CPU machine, each with its share of the cores): on a small CPU, processes of
    one thread get more done than one process of several threads
    (``benchmarks/bench_cpu_parallelism.py``). The config's ``train_dataloader.batch_size`` is
    per process, as with any DDP run: give it the total batch divided by ``procs``
    (:func:`per_process_batch`) to keep the recipe.

    Args:
        cfg_path: the supernet config file.
        work_dir: its work dir (checkpoints, logs, TensorBoard events).
        max_iters: the schedule's length (names the final checkpoint).
        log_path: the training's console output goes to this file (None: this
            process's console).
        progress: with ``log_path``, called as ``progress(iteration, total, eta)`` for
            each logged iteration (:class:`LogProgress`).
        procs: local data-parallel processes.

    Returns:
        The final checkpoint.

    Raises:
        JobFailed: the training exited with an error or wrote no final checkpoint.
    """
    final = supernet_checkpoint(work_dir, max_iters)
    if final.is_file():
        return final
    follow = LogProgress(log_path, progress) if log_path is not None and progress is not None else None
    if follow is not None:
        follow.start()
    try:
        cmd = [str(REPO_ROOT / 'tools' / 'train_supernet.py'), str(cfg_path), '--work-dir', str(work_dir),
               '--resume']
        env = None
        if procs > 1:
            # --standalone: the rendezvous store binds a port the system picks, so no other
            # process (a parallel job, a database client) can take it between choice and bind
            cmd = ['-m', 'torch.distributed.run', '--standalone', f'--nproc_per_node={procs}',
                   *cmd, '--launcher', 'pytorch']
            if not _has_cuda():
                env = {'OMP_NUM_THREADS': str(max(1, (os.cpu_count() or 1) // procs))}
        rc, _ = run_isolated([sys.executable, *cmd], log_path, env=env)
    finally:
        if follow is not None:
            follow.stop()
    if rc != 0 or not final.is_file():
        where = log_path or work_dir
        why = failure_excerpt(log_path) if log_path is not None else ''
        raise JobFailed(f'supernet training failed (exit code {rc}); its log is in {where}; '
                        f'rerun the same command to resume it' + (f'. Its log\'s {why}' if why else ''))
    return final
