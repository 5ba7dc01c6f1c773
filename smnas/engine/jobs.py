"""Jobs isolated in their own process, shared by the pipeline, the tools and the
benchmarks: here, training (or resuming) a supernet with ``tools/train_supernet.py``.
Trials of the searches and from-scratch trainings run through
:func:`smnas.search.trial.run_trial_subprocess`.
"""
import subprocess
import sys
from pathlib import Path

from ..utils.paths import REPO_ROOT


class JobFailed(RuntimeError):
    """An isolated job failed; the message says where its log is and how to resume."""


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
    rc = subprocess.call([sys.executable, str(REPO_ROOT / 'tools' / 'train_supernet.py'), str(cfg_path),
                          '--work-dir', str(work_dir), '--resume'])
    if rc != 0 or not final.is_file():
        raise JobFailed(f'supernet training failed (exit code {rc}); its log is in {work_dir}; '
                        f'rerun the same command to resume it')
    return final
