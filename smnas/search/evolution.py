"""The search engine shared by both SM-NAS stages: NSGA-II over architectures, an
accuracy to maximise against a cost to minimise, every architecture evaluated once.

Optuna's NSGA-II sampler proposes; Optuna's storage keeps the trials, so several
workers, on one machine or many, share one search, and rerunning the same command
resumes it. NSGA-II proposes architectures it has already seen (and raw choices
that a space's repair maps onto the same valid architecture): such a trial is pruned
(waiting for a running twin first), and a random draw over the same choices is
queued in its place, so a converged population still finds new architectures.
Results also live on disk per
architecture (``<results_dir>/<arch>/result.json``), so a trial lost with a killed
worker is re-queued and picks up its result.

A stage subclasses :class:`EvolutionarySearch` with how to propose an architecture
from a trial and how to evaluate it.
"""
import os
import random
import threading
import time
from pathlib import Path
from typing import Callable, Dict, List, Optional, Tuple

import optuna
from optuna.trial import TrialState

from ..records import TrialResult
from ..utils import atomic_write_json, collect_env_versions
from .pareto import hypervolume_2d, pareto_front
from .study import arch_outcomes, default_storage, open_study
from .trial import TrialFailed, read_stored

ENGINE_DEFAULTS = dict(
    n_trials=20,             # distinct architectures to evaluate (or fail)
    population_size=8,       # NSGA-II population
    seed=0,
    trial_timeout=None,      # seconds per architecture (None: unlimited)
    retry_failed=False,      # evaluate again architectures that failed before
    hv_ref_cost=None,        # hypervolume reference cost (default: fixed at 2x the first max)
    max_trials_factor=5,     # stop after n_trials * factor Optuna trials (repeated and skipped included)
    sampler='nsga2',         # 'nsga2', or 'random' (uniform draws: the baseline a search must beat)
    # NSGA-II's first generation: 'spread', the stage's picks over its whole cost range
    # (initial_population; uniform draws where a stage has none), or 'random', uniform
    # draws. Uniform draws crowd the middle of the cost range, and with a small budget the
    # few generations that follow rarely reach its ends, where fronts begin.
    init='spread',
)

SAMPLERS = ('nsga2', 'random')


class SkipArchitecture(Exception):
    """A proposal that is not evaluated (e.g. outside the FLOPs range); the trial is pruned."""


class EvolutionarySearch:
    """One worker of a multi-objective evolutionary search.

    Subclasses set ``label`` (progress prefix), ``cost_key``, ``cost_name`` and ``cost_unit``
    (and ``score_key`` / ``score_sign`` for another accuracy score than the mAP), and
    implement :meth:`propose`, :meth:`evaluate` and :meth:`meta`.

    Args:
        work_dir: where the study, per-architecture results, TensorBoard events and
            reports go.
        opts: search options (:data:`ENGINE_DEFAULTS` plus the stage's own).
        storage: Optuna storage URL (default: ``sqlite:///<work_dir>/study.db``).
        workers: architectures evaluated at once by this process.
        study_name: the study's name in the storage.
        results_dir: per-architecture result folders (default ``<work_dir>/trials``).
    """
    label = 'search'
    cost_key = 'cost'    # the result key minimised
    cost_name = 'cost'   # its TensorBoard name
    cost_unit = ''
    cost_scale = 1.0     # cost units per displayed unit (hypervolumes are shown in mAP x unit)
    score_key = 'mAP'    # the result key of the accuracy objective
    score_sign = 1       # 1: higher is better (an mAP); -1: lower (a loss); the study maximises sign x score
    result_keys: Tuple[str, ...] = ()

    def __init__(self, work_dir: str, opts: dict, storage: Optional[str] = None, workers: int = 1,
                 study_name: str = 'search', results_dir: Optional[str] = None):
        self.work_dir = Path(work_dir)
        self.work_dir.mkdir(parents=True, exist_ok=True)
        self.opts = dict(ENGINE_DEFAULTS, **opts)
        self.storage = storage or default_storage(self.work_dir)
        self.workers = max(1, int(workers))
        self.study_name = study_name
        self.results_dir = Path(results_dir) if results_dir else self.work_dir / 'trials'
        self.target = int(self.opts['n_trials'])
        self._lock = threading.Lock()
        self._durations = []
        self._vis = None
        self.study = None
        self.t0 = time.time()
        # called with this stage's seconds left (None: unknown) for a suffix of each
        # progress line (the pipeline's whole-run ETA)
        self.progress_suffix: Optional[Callable[[Optional[float]], str]] = None

    # ------------------------------------------------------------------ to implement
    def propose(self, trial: optuna.Trial) -> str:
        """Suggest an architecture with ``trial`` and return its (valid) string.

        Raises:
            SkipArchitecture: the architecture must not be evaluated.
        """
        raise NotImplementedError

    def evaluate(self, arch: str, result_dir: Path) -> TrialResult:
        """Evaluate ``arch``; returns its result (``mAP``, :attr:`cost_key` and
        :attr:`result_keys` set), also written to ``result_dir/result.json``.

        Raises:
            TrialFailed: the architecture could not be evaluated (cause in the message).
        """
        raise NotImplementedError

    def meta(self) -> dict:
        """What the study searches (space, options...); a study with another ``space``
        is refused."""
        raise NotImplementedError

    def initial_population(self, n: int) -> List[Dict[str, object]]:
        """Up to ``n`` architectures (as the params :meth:`propose` suggests) that NSGA-II's
        first generation evaluates before its own draws, with ``init='spread'``; none by
        default."""
        return []

    def on_trial_logged(self, vis, frozen, step: int, status: dict) -> None:
        """Extra TensorBoard scalars after a completed, newly evaluated trial
        (``status``: :meth:`status` of the search)."""

    # ------------------------------------------------------------------ set-up
    def sampler(self, offset: int = 0) -> optuna.samplers.BaseSampler:
        """The configured sampler (``opts['sampler']``: NSGA-II, or uniform random draws),
        seeded with ``seed + offset``.

        Raises:
            ValueError: an unknown sampler name.
        """
        kind, seed = self.opts.get('sampler') or 'nsga2', int(self.opts['seed']) + offset
        if kind == 'random':
            return optuna.samplers.RandomSampler(seed=seed)
        if kind != 'nsga2':
            raise ValueError(f'unknown search sampler {kind!r}; choose one of {", ".join(SAMPLERS)}')
        return optuna.samplers.NSGAIISampler(population_size=int(self.opts['population_size']), seed=seed)

    def open(self) -> optuna.Study:
        """Open (or create) the shared study and record what it searches.

        The process that starts a study samples with the configured seed, so a
        one-process search is reproducible; a process joining a study that already
        has trials (another worker, or a resume) offsets the seed by its process id
        so that concurrent workers do not propose the same sequence.

        Raises:
            ValueError: the stored study searches another space, or ranks by another score
                or scores its subnets otherwise (a fine-tune before scoring).
        """
        init = self.opts.get('init')
        if init not in ('spread', 'random'):
            raise ValueError(f"search init must be 'spread' or 'random', not {init!r}")
        study = open_study(self.storage, self.study_name, ['maximize', 'minimize'], self.sampler())
        if study.get_trials(deepcopy=False):
            study.sampler = self.sampler(offset=1 + os.getpid())
        elif (self.opts.get('sampler') or 'nsga2') == 'nsga2' and init == 'spread':
            # A new study: its first generation starts from these (a resumed one has them).
            for params in self.initial_population(int(self.opts['population_size'])):
                study.enqueue_trial(params, skip_if_exists=True)
        meta = dict(self.meta(), versions=collect_env_versions())
        if 'meta' not in study.user_attrs:
            study.set_user_attr('meta', meta)
        elif study.user_attrs['meta'].get('space') != meta['space']:
            raise ValueError(
                f'the study in {self.storage} searches another space:\n'
                f'  stored: {study.user_attrs["meta"].get("space")}\n  this config: {meta["space"]}\n'
                f'use another --work-dir or --storage, or the original config')
        elif study.user_attrs['meta'].get('score', 'mAP') != meta.get('score', 'mAP'):
            # its trials' values are another score: the two do not mix on one front
            raise ValueError(
                f'the study in {self.storage} ranks by {study.user_attrs["meta"].get("score", "mAP")!r}, '
                f'this config by {meta.get("score", "mAP")!r}: use another --work-dir or --storage')
        elif study.user_attrs['meta'].get('scoring') != meta.get('scoring'):
            stored = study.user_attrs['meta'].get('scoring')
            raise ValueError(f'the study in {self.storage} scored its subnets with {stored}, this config '
                             f'with {meta.get("scoring")}: use another --work-dir or --storage')
        atomic_write_json(self.work_dir / 'search_meta.json', dict(meta, storage=self.storage), indent=1)
        self.study = study  # what every worker has evaluated so far, for a stage's evaluate()
        return study

    # ------------------------------------------------------------------ a trial
    def _wait_for_earlier(self, study, arch: str, number: int) -> Optional[dict]:
        """Outcome of an earlier trial of ``arch``, waiting while it is still running."""
        deadline = time.time() + (self.opts['trial_timeout'] or 7 * 24 * 3600) + 300
        while True:
            same = [t for t in study.get_trials(deepcopy=False)
                    if t.user_attrs.get('arch') == arch and t.number < number]
            done = [t for t in same if t.state == TrialState.COMPLETE]
            if done:
                t = min(done, key=lambda t: t.number)
                return dict(state='complete', trial=t.number, values=t.values, attrs=t.user_attrs)
            failed = [t for t in same if t.state == TrialState.FAIL and 'error' in t.user_attrs]
            if failed and not self.opts['retry_failed']:
                return dict(state='failed', trial=failed[0].number, error=failed[0].user_attrs['error'])
            if not any(t.state == TrialState.RUNNING for t in same) or time.time() > deadline:
                return None
            # The earlier trial may belong to a killed worker: once its heartbeat is
            # stale it is failed (and re-queued), and this trial takes over.
            optuna.storages.fail_stale_trials(study)
            time.sleep(3)

    def _queue_random_replacement(self, trial: optuna.Trial) -> None:
        """Queue a uniform draw over the choices ``trial`` was offered, seeded by the
        search seed and the trial number (so one worker's search stays deterministic).

        Offspring of a converged population mostly repeat their parents; without this,
        a search whose front holds a few architectures proposes hundreds of repeats for
        each new one (measured on BCCD: 5,800 repeats for 224 subnets).
        """
        from optuna.distributions import CategoricalDistribution, IntDistribution

        rng = random.Random(int(self.opts['seed']) * 1_000_003 + trial.number)
        params = {}
        for name, dist in trial.distributions.items():
            if isinstance(dist, CategoricalDistribution):
                params[name] = rng.choice(dist.choices)
            elif isinstance(dist, IntDistribution):
                params[name] = rng.randrange(dist.low, dist.high + 1, dist.step)
        trial.study.enqueue_trial(params, skip_if_exists=True)

    def objective(self, trial: optuna.Trial):
        """Propose, deduplicate, evaluate; returns (accuracy, cost)."""
        try:
            arch = self.propose(trial)
        except SkipArchitecture as e:
            trial.set_user_attr('skipped', str(e))
            raise optuna.TrialPruned(str(e)) from None
        trial.set_user_attr('arch', arch)
        earlier = self._wait_for_earlier(trial.study, arch, trial.number)
        if earlier is not None:
            trial.set_user_attr('duplicate_of', earlier['trial'])
            if earlier['state'] == 'failed':
                trial.set_user_attr('error', f'same architecture as failed trial {earlier["trial"]}: '
                                    f'{earlier["error"]}')
                raise TrialFailed(trial.user_attrs['error'])
            # Duplicate elimination (as pymoo's): NSGA-II fills a generation with completed
            # trials only, so a repeated architecture is pruned instead of completed with its
            # original's values. Completed copies would fill generations with the same few
            # members once the front is small, and the search would stop finding new ones.
            self._queue_random_replacement(trial)
            raise optuna.TrialPruned(f'{arch} was evaluated by trial {earlier["trial"]}')

        result_dir = self.results_dir / arch
        stored = read_stored(result_dir)
        if stored and stored.get('status') == 'failed' and not self.opts['retry_failed']:
            trial.set_user_attr('error', stored['error'])
            raise TrialFailed(stored['error'])
        if stored and stored.get('status') == 'ok' and stored.get(self.score_key) is not None:
            # evaluated before (a lost trial, or a rebuilt study): reuse
            result = TrialResult.from_dict(stored)
            trial.set_user_attr('reused_from_disk', True)
        else:
            t0 = time.time()
            try:
                result = self.evaluate(arch, result_dir)
            except TrialFailed as e:
                trial.set_user_attr('error', str(e))
                raise
            with self._lock:
                self._durations.append(time.time() - t0)
        for key in self.result_keys:
            value = getattr(result, key)
            if value is not None:
                trial.set_user_attr(key, value)
        return self.score_sign * getattr(result, self.score_key), getattr(result, self.cost_key)

    def displayed_score(self, value: float) -> float:
        """A study value of the accuracy objective as the score it was computed from."""
        return self.score_sign * value

    # ------------------------------------------------------------------ progress
    def _visualizer(self):
        if self._vis is None:
            from mmengine.visualization import Visualizer

            self._vis = Visualizer.get_instance(
                f'smnas_{self.label}_{id(self)}', save_dir=str(self.work_dir / 'tensorboard'),
                vis_backends=[dict(type='TensorboardVisBackend')])
        return self._vis

    def status(self, study) -> Dict[str, object]:
        """Counts, front and hypervolume of the search so far."""
        outcomes = arch_outcomes(study)
        done = {a: o for a, o in outcomes.items() if o['state'] == 'complete'}
        failed = sum(o['state'] == 'failed' for o in outcomes.values())
        running = sum(o['state'] == 'running' for o in outcomes.values())
        pts = [(a, o['values'][0], o['values'][1]) for a, o in done.items()]
        front = pareto_front(pts)
        ref = self.opts['hv_ref_cost'] or study.user_attrs.get('hv_ref_cost')
        if ref is None and pts:
            # Fixed once the first population is evaluated, so that hypervolumes of the
            # whole search are comparable: twice that population's largest cost.
            provisional = 2.0 * max(p[2] for p in pts)
            if len(pts) >= int(self.opts['population_size']):
                study.set_user_attr('hv_ref_cost', provisional)
            ref = provisional
        ref_score = 0.0 if self.score_sign > 0 else self._loss_reference(study, pts)
        hv = hypervolume_2d(front, ref, ref_score) / self.cost_scale if ref and ref_score is not None else 0.0
        skipped = sum(t.state == TrialState.PRUNED for t in study.get_trials(deepcopy=False))
        return dict(done=len(done), failed=failed, running=running, skipped=skipped, front=front,
                    hypervolume=hv, hv_ref=ref, hv_ref_score=ref_score,
                    trials=len(study.get_trials(deepcopy=False)))

    def _loss_reference(self, study, pts) -> Optional[float]:
        """The hypervolume's reference value of a lower-is-better score (a loss, whose study
        values are negative): twice the first population's largest loss, fixed once that
        population is evaluated, as the reference cost is."""
        ref = study.user_attrs.get('hv_ref_score')
        if ref is None and pts:
            ref = 2.0 * min(p[1] for p in pts)
            if len(pts) >= int(self.opts['population_size']):
                study.set_user_attr('hv_ref_score', ref)
        return ref

    def format_cost(self, cost: float) -> str:
        """A cost as the console shows it, in ``cost_unit``."""
        return f'{cost:.0f} {self.cost_unit}'.strip()

    def progress_line(self, st: dict) -> str:
        """One console line from :meth:`status`: trials done and failed, ETA, the front's best.

        Args:
            st: the study's status.

        Returns:
            The line, without a newline.
        """
        finished = st['done'] + st['failed']
        left = max(self.target - finished, 0)
        eta, left_s = '', (None if left else 0.0)
        if self._durations and left:
            mean = sum(self._durations) / len(self._durations)
            left_s = mean * left / self.workers
            eta = f' | ETA {time.strftime("%H:%M:%S", time.gmtime(left_s))}'
        if self.progress_suffix is not None:
            eta += self.progress_suffix(left_s)
        best = ''
        if st['front']:
            top = max(st['front'], key=lambda p: p[1])
            score = self.displayed_score(top[1])
            best = f' | front {len(st["front"])}: best {self.score_key} {score:.3f}'
            best += f' @ {self.format_cost(top[2])}'
        skipped = f', {st["skipped"]} skipped or repeated' if st.get('skipped') else ''
        return (f'[{self.label}] {finished}/{self.target} done ({st["done"]} ok, {st["failed"]} failed'
                f'{skipped}), {st["running"]} running{best} | HV {st["hypervolume"]:.3g}'
                f' | {time.time() - self.t0:.0f}s{eta}')

    def _after_trial(self, study, frozen) -> None:
        with self._lock:
            st = self.status(study)
            vis = self._visualizer()
            step = st['done'] + st['failed']
            if frozen.state == TrialState.COMPLETE and 'duplicate_of' not in frozen.user_attrs:
                vis.add_scalar(f'trial/{self.score_key}', self.displayed_score(frozen.values[0]), step=step)
                vis.add_scalar(f'trial/{self.cost_name}', frozen.values[1], step=step)
                self.on_trial_logged(vis, frozen, step, st)
            vis.add_scalar('search/front_hypervolume', st['hypervolume'], step=step)
            vis.add_scalar('search/front_size', len(st['front']), step=step)
            vis.add_scalar('search/failed', st['failed'], step=step)
            if frozen.state == TrialState.FAIL and 'error' in frozen.user_attrs:
                print(f'[{self.label}] trial {frozen.number} {frozen.user_attrs.get("arch")} failed: '
                      f'{frozen.user_attrs["error"]}', flush=True)
            if frozen.state != TrialState.PRUNED:
                print(self.progress_line(st), flush=True)
            if step >= self.target or st['trials'] >= self.target * int(self.opts['max_trials_factor']):
                study.stop()

    # ------------------------------------------------------------------ run
    def run(self) -> optuna.Study:
        """Search until ``n_trials`` distinct architectures are evaluated (or failed)."""
        study = self.open()
        st = self.status(study)
        print(self.progress_line(st), flush=True)
        if st['done'] + st['failed'] < self.target:
            study.optimize(self.objective, n_jobs=self.workers, catch=(TrialFailed, ),
                           callbacks=[self._after_trial])
        if self._vis is not None:
            self._vis.close()
        return study
