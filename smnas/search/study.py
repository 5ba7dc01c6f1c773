"""Optuna storage and study handling shared by the structural and modular searches.

* Several processes may open the same new study at once: creating an SQLite
  database races on Optuna's schema (``UNIQUE constraint failed:
  alembic_version.version_num``), so creation holds a file lock beside the database,
  and other databases get bounded retries.
* SQLite ignores ``SELECT ... FOR UPDATE``, so two workers (threads or processes) could
  both move the same queued trial from WAITING to RUNNING and train it twice (then one's
  ``tell`` fails: "Cannot tell a COMPLETE trial"). Trial state changes on SQLite hold a
  file lock beside the database, which makes the read-then-write atomic.
* Trials of a killed worker are detected by heartbeat and re-queued with the same
  parameters, so the architecture they were training is not lost.
* Results are keyed by architecture string (``user_attrs['arch']``): helpers here
  read the study as one outcome per architecture.
"""
import os
import time
import warnings
from pathlib import Path
from typing import Dict, List, Sequence

import optuna
from optuna.trial import FrozenTrial, TrialState

from ..utils import file_lock

# A worker's trial counts as lost once its heartbeat is GRACE_S old; both can be set
# with SMNAS_HEARTBEAT_SECONDS (the grace is three heartbeats): shorter re-queues a
# killed worker's trial sooner, at the cost of more database writes.
HEARTBEAT_S = 30
GRACE_S = 3 * HEARTBEAT_S


def heartbeat_seconds() -> tuple:
    """(heartbeat interval, grace period) in seconds."""
    beat = int(os.environ.get('SMNAS_HEARTBEAT_SECONDS', HEARTBEAT_S))
    return beat, 3 * beat


def default_storage(work_dir: Path) -> str:
    """The default storage: an SQLite file in the work dir."""
    return f'sqlite:///{Path(work_dir).resolve() / "study.db"}'


def _sqlite_file(url: str) -> Path:
    """The database file of an SQLite file URL (``sqlite:///path``)."""
    return Path(url[len('sqlite:///'):])


class _SQLiteStorage(optuna.storages.RDBStorage):
    """An RDB storage on SQLite whose trial state changes are atomic across workers.

    Optuna checks a trial's state and changes it in one transaction under
    ``SELECT ... FOR UPDATE``, which SQLite ignores: the row is read outside the write
    transaction, so popping a queued trial raced (optuna/optuna#4621). A file lock beside
    the database serialises these few writes; every other access is unchanged.
    """

    def __init__(self, url: str, **kwargs):
        super().__init__(url, **kwargs)
        db = _sqlite_file(url)
        self._state_lock = str(db.with_name(db.name + '.state.lock'))

    def set_trial_state_values(self, trial_id, state, values=None):
        with file_lock(Path(self._state_lock)):
            return super().set_trial_state_values(trial_id, state, values)


def make_storage(url: str) -> optuna.storages.RDBStorage:
    """An RDB storage with heartbeats; stale trials are re-queued (3 retries).

    Args:
        url: database URL; an SQLite file URL gets atomic trial state changes.

    Returns:
        The storage.
    """
    engine_kwargs = {}
    if url.startswith('sqlite:'):
        # Writers queue for the file lock rather than fail at once when busy.
        engine_kwargs = dict(connect_args=dict(timeout=120))
    beat, grace = heartbeat_seconds()
    # Heartbeats are marked experimental by Optuna (since 2.8); what they do is tested here
    # (tests/search/test_postgres.py), so their notice is kept off the search's console.
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', optuna.exceptions.ExperimentalWarning)
        cls = _SQLiteStorage if url.startswith('sqlite:///') else optuna.storages.RDBStorage
        return cls(
            url, engine_kwargs=engine_kwargs, heartbeat_interval=beat, grace_period=grace,
            heartbeat_stale_trial_callback=optuna.storages.RetryHeartbeatStaleTrialCallback(max_retry=3))


def open_study(storage_url: str, study_name: str, directions: Sequence[str],
               sampler: optuna.samplers.BaseSampler, attempts: int = 8) -> optuna.Study:
    """Create or load a study so that concurrent workers can start together.

    Args:
        storage_url: database URL (``sqlite:///path``, ``postgresql://...``).
        study_name: name of the study inside the storage.
        directions: e.g. ``['maximize', 'minimize']``.
        sampler: the sampler of this process.
        attempts: tries for non-SQLite storages when creation races.

    Returns:
        The study.
    """
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    if storage_url.startswith('sqlite:///'):
        db = _sqlite_file(storage_url)
        with file_lock(db.with_name(db.name + '.lock')):
            storage = make_storage(storage_url)
            return optuna.create_study(storage=storage, study_name=study_name, directions=list(directions),
                                       sampler=sampler, load_if_exists=True)
    last = None
    for i in range(attempts):
        try:
            storage = make_storage(storage_url)
            return optuna.create_study(storage=storage, study_name=study_name,
                                       directions=list(directions), sampler=sampler, load_if_exists=True)
        except Exception as e:  # schema/creation race with another worker: retry
            last = e
            time.sleep(0.5 * (i + 1) + (os.getpid() % 7) * 0.1)
    raise RuntimeError(f'could not open study {study_name!r} in {storage_url}: {last}')


def trials_by_arch(study: optuna.Study) -> Dict[str, List[FrozenTrial]]:
    """All trials grouped by their ``arch`` user attribute, in trial order."""
    out: Dict[str, List[FrozenTrial]] = {}
    for t in study.get_trials(deepcopy=False):
        arch = t.user_attrs.get('arch')
        if arch:
            out.setdefault(arch, []).append(t)
    return out


def arch_outcomes(study: optuna.Study) -> Dict[str, dict]:
    """One outcome per architecture: 'complete' (with values), 'failed', or 'running'.

    A failure counts only when the objective recorded an error (a worker killed
    mid-trial leaves a failed trial without one: it is re-queued, not a failure).
    """
    out = {}
    for arch, trials in trials_by_arch(study).items():
        done = [t for t in trials if t.state == TrialState.COMPLETE]
        if done:
            first = min(done, key=lambda t: t.number)
            out[arch] = dict(state='complete', trial=first.number, values=list(first.values),
                             attrs=dict(first.user_attrs))
        elif any(t.state == TrialState.FAIL and 'error' in t.user_attrs for t in trials):
            t = [t for t in trials if t.state == TrialState.FAIL and 'error' in t.user_attrs][0]
            out[arch] = dict(state='failed', trial=t.number, error=t.user_attrs['error'],
                             attrs=dict(t.user_attrs))
        elif any(t.state == TrialState.RUNNING for t in trials):
            out[arch] = dict(state='running', trial=min(t.number for t in trials))
    return out
