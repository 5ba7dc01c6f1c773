"""Jobs isolated in their own process, shared by the pipeline, the tools and the
benchmarks: :func:`run_isolated` runs any command in its own process group (killed
with everything it started on a timeout or when the caller stops); trials of the
searches and from-scratch trainings go through it in
:func:`smnas.search.trial.run_trial_subprocess`, supernet trainings in
:func:`train_supernet`.
"""
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Dict, Optional, Sequence, Tuple

from ..utils.paths import REPO_ROOT


class JobFailed(RuntimeError):
    """An isolated job failed; the message says where its log is and how to resume."""


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
        proc = subprocess.Popen(list(cmd), stdout=log, stderr=subprocess.STDOUT if log else None,
                                env=dict(os.environ, **(env or {})), start_new_session=True,
                                pass_fds=tuple(pass_fds))
        try:
            return proc.wait(timeout=timeout), None
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            return -9, f'timeout: still running after {timeout:.0f}s'
        except BaseException:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            raise
    finally:
        if log is not None:
            log.close()


def supernet_checkpoint(work_dir, max_iters: int) -> Path:
    """The final checkpoint a supernet training of ``max_iters`` writes in ``work_dir``."""
    return Path(work_dir) / f'iter_{int(max_iters)}.pth'


def train_supernet(cfg_path, work_dir, max_iters: int) -> Path:
    """Train the supernet of ``cfg_path`` in its own process, resuming an interrupted
    run; nothing is trained when the final checkpoint exists.

    Args:
        cfg_path: the supernet config file.
        work_dir: its work dir (checkpoints, logs, TensorBoard events).
        max_iters: the schedule's length (names the final checkpoint).

    Returns:
        The final checkpoint.

    Raises:
        JobFailed: the training exited with an error or wrote no final checkpoint.
    """
    final = supernet_checkpoint(work_dir, max_iters)
    if final.is_file():
        return final
    rc, _ = run_isolated([sys.executable, str(REPO_ROOT / 'tools' / 'train_supernet.py'), str(cfg_path),
                          '--work-dir', str(work_dir), '--resume'])
    if rc != 0 or not final.is_file():
        raise JobFailed(f'supernet training failed (exit code {rc}); its log is in {work_dir}; '
                        f'rerun the same command to resume it')
    return final
