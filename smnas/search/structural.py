"""Evolutionary multi-objective search over the structural space (SM-NAS stage 1).

Optuna's NSGA-II sampler proposes candidates; each is trained, evaluated (val bbox
mAP) and measured (latency on this device) in its own process; Optuna's storage
keeps the trials, so several workers, on one machine or many, share one search,
and rerunning the same command resumes it.

Every architecture is trained at most once. NSGA-II proposes architectures it has
already seen (and raw choices that :meth:`StructuralSpace.repair` maps onto the same
valid candidate): such a trial reuses the stored result. Results also live on disk
per architecture (``trials/<arch>/result.json``), so a trial lost with a killed
worker is re-queued and picks up its result, or resumes its training.
"""
import contextlib
import copy
import os
import queue
import threading
import time
from pathlib import Path
from typing import Dict, Optional

import optuna
from mmengine.config import Config
from optuna.trial import TrialState

from ..structural.builder import build_config
from ..structural.space import StructuralSpace
from ..utils import atomic_write_json, collect_env_versions
from .study import arch_outcomes, default_storage, hypervolume_2d, open_study, pareto_front
from .trial import TrialFailed, read_stored, run_trial_subprocess

SEARCH_DEFAULTS = dict(
    n_trials=20,             # distinct architectures to evaluate (trained or failed)
    population_size=8,       # NSGA-II population
    seed=0,
    study_name='structural',
    trial_timeout=None,      # seconds per candidate (None: unlimited)
    retry_failed=False,      # retrain architectures whose training failed before
    num_classes=None,        # read from the training annotation file when None
    model_options={},        # build_model_cfg options (fpn_channels, fc_channels, norm...)
    trial_overrides={},      # {arch substring: {dotted cfg key: value}} applied per candidate
    hv_ref_latency_ms=None,  # hypervolume reference latency (default: fixed at 2x the first max)
    max_trials_factor=5,     # stop after n_trials * factor Optuna trials (duplicates included)
)


class StructuralSearch:
    """One worker of a structural search.

    Args:
        cfg: the search config: an mmdet config (data, schedule, runtime) plus
            ``search_space`` (``StructuralSpace`` arguments), ``search`` (see
            :data:`SEARCH_DEFAULTS`) and ``measure`` (latency warm-up and repeats).
        work_dir: where the study, trial folders, TensorBoard events and reports go.
        storage: Optuna storage URL (default: ``sqlite:///<work_dir>/study.db``).
        workers: candidates trained at once by this process.
    """

    def __init__(self, cfg: Config, work_dir: str, storage: Optional[str] = None, workers: int = 1):
        self.cfg = cfg
        self.work_dir = Path(work_dir)
        self.work_dir.mkdir(parents=True, exist_ok=True)
        self.space = StructuralSpace.from_cfg(cfg.get('search_space'))
        self.opts = dict(SEARCH_DEFAULTS, **dict(cfg.get('search', {})))
        self.storage = storage or default_storage(self.work_dir)
        self.workers = max(1, int(workers))
        self.target = min(int(self.opts['n_trials']), self.space.count())
        self.base = copy.deepcopy(cfg)
        for key in ('search_space', 'search'):
            self.base.pop(key, None)
        self.num_classes = self.opts['num_classes'] or self._count_classes()
        self._devices = self._device_pool()
        self._lock = threading.Lock()
        self._durations = []
        self._vis = None
        self.t0 = time.time()

    # ------------------------------------------------------------------ set-up
    def _count_classes(self) -> int:
        from ..data.datasets import read_coco_classes

        ds = self.base.train_dataloader.dataset
        ann = ds.ann_file if os.path.isabs(ds.ann_file) else os.path.join(ds.data_root, ds.ann_file)
        return len(read_coco_classes(ann))

    def _device_pool(self) -> 'queue.Queue':
        import torch

        q: queue.Queue = queue.Queue()
        n_gpu = torch.cuda.device_count()
        for i in range(self.workers):
            if n_gpu:
                q.put({'CUDA_VISIBLE_DEVICES': str(i % n_gpu)})
            else:
                threads = str(max(1, (os.cpu_count() or 1) // self.workers))
                q.put({'OMP_NUM_THREADS': threads, 'MKL_NUM_THREADS': threads,
                       'CUDA_VISIBLE_DEVICES': ''})
        return q

    @contextlib.contextmanager
    def _device(self):
        env = self._devices.get()
        try:
            yield env
        finally:
            self._devices.put(env)

    def sampler(self, offset: int = 0) -> optuna.samplers.NSGAIISampler:
        """NSGA-II seeded with ``seed + offset``."""
        return optuna.samplers.NSGAIISampler(population_size=int(self.opts['population_size']),
                                             seed=int(self.opts['seed']) + offset)

    def open(self) -> optuna.Study:
        """Open (or create) the shared study and record what it searches.

        The process that starts a study samples with the configured seed, so a
        one-process search is reproducible; a process joining a study that already
        has trials (another worker, or a resume) offsets the seed by its process id
        so that concurrent workers do not propose the same sequence.
        """
        study = open_study(self.storage, self.opts['study_name'], ['maximize', 'minimize'],
                           self.sampler())
        if study.get_trials(deepcopy=False):
            study.sampler = self.sampler(offset=1 + os.getpid())
        meta = dict(space=self.space.to_dict(), space_count=self.space.count(),
                    search={k: v for k, v in self.opts.items() if k != 'trial_overrides'},
                    num_classes=self.num_classes, versions=collect_env_versions())
        if 'meta' not in study.user_attrs:
            study.set_user_attr('meta', meta)
        elif study.user_attrs['meta'].get('space') != meta['space']:
            raise ValueError(
                f'the study in {self.storage} searches another space:\n'
                f'  stored: {study.user_attrs["meta"].get("space")}\n  this config: {meta["space"]}\n'
                f'use another --work-dir or --storage, or the original config')
        atomic_write_json(self.work_dir / 'search_meta.json', dict(meta, storage=self.storage,
                                                                   config=self.cfg.filename), indent=1)
        return study

    # ------------------------------------------------------------------ a trial
    def candidate_config(self, cand) -> Config:
        """The complete training config of a candidate (with per-arch overrides)."""
        cfg = build_config(cand, self.space, self.base, self.num_classes, self.opts['model_options'])
        for pattern, options in self.opts['trial_overrides'].items():
            if pattern in str(cand):
                cfg.merge_from_dict(dict(options))
        cfg.measure = dict(self.cfg.get('measure', {}))
        return cfg

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

    def objective(self, trial: optuna.Trial):
        """Propose, deduplicate, train/evaluate/measure; returns (mAP, latency ms)."""
        ch = self.space.choices()
        raw = dict(backbone=trial.suggest_categorical('backbone', ch['backbone']),
                   neck=trial.suggest_categorical('neck', ch['neck']),
                   detector=trial.suggest_categorical('detector', ch['detector']),
                   input_size=trial.suggest_categorical('input', ch['input']))
        cand = self.space.repair(**raw)
        arch = str(cand)
        trial.set_user_attr('arch', arch)
        earlier = self._wait_for_earlier(trial.study, arch, trial.number)
        if earlier is not None:
            trial.set_user_attr('duplicate_of', earlier['trial'])
            if earlier['state'] == 'failed':
                trial.set_user_attr('error', f'same architecture as failed trial {earlier["trial"]}: '
                                    f'{earlier["error"]}')
                raise TrialFailed(trial.user_attrs['error'])
            for k, v in earlier['attrs'].items():
                if k not in ('arch', 'duplicate_of'):
                    trial.set_user_attr(k, v)
            return tuple(earlier['values'])

        trial_dir = self.work_dir / 'trials' / arch
        stored = read_stored(trial_dir)
        if stored and stored.get('status') == 'failed' and not self.opts['retry_failed']:
            trial.set_user_attr('error', stored['error'])
            raise TrialFailed(stored['error'])
        if stored and stored.get('status') == 'ok':
            result = stored  # trained before (a lost trial, or a rebuilt study): reuse
            trial.set_user_attr('reused_from_disk', True)
        else:
            t0 = time.time()
            try:
                with self._device() as env:
                    result = run_trial_subprocess(self.candidate_config(cand), trial_dir,
                                                  self.opts['trial_timeout'], env)
            except TrialFailed as e:
                trial.set_user_attr('error', str(e))
                raise
            with self._lock:
                self._durations.append(time.time() - t0)
        for key in ('mAP', 'mAP_50', 'latency_ms', 'flops', 'params', 'device', 'train_seconds'):
            trial.set_user_attr(key, result[key])
        trial.set_user_attr('input_size', result['input_size'])
        return result['mAP'], result['latency_ms']

    # ------------------------------------------------------------------ progress
    def _visualizer(self):
        if self._vis is None:
            from mmengine.visualization import Visualizer

            self._vis = Visualizer.get_instance(
                f'smnas_structural_{id(self)}', save_dir=str(self.work_dir / 'tensorboard'),
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
        ref = self.opts['hv_ref_latency_ms'] or study.user_attrs.get('hv_ref_latency_ms')
        if ref is None and pts:
            # Fixed once the first population is evaluated, so that hypervolumes of the
            # whole search are comparable: twice that population's slowest latency.
            provisional = 2.0 * max(p[2] for p in pts)
            if len(pts) >= int(self.opts['population_size']):
                study.set_user_attr('hv_ref_latency_ms', provisional)
            ref = provisional
        hv = hypervolume_2d(front, ref) if ref else 0.0
        return dict(done=len(done), failed=failed, running=running, front=front, hypervolume=hv,
                    hv_ref=ref, trials=len(study.get_trials(deepcopy=False)))

    def progress_line(self, st: dict) -> str:
        finished = st['done'] + st['failed']
        left = max(self.target - finished, 0)
        eta = ''
        if self._durations and left:
            mean = sum(self._durations) / len(self._durations)
            eta = f' | ETA {time.strftime("%H:%M:%S", time.gmtime(mean * left / self.workers))}'
        best = ''
        if st['front']:
            top = max(st['front'], key=lambda p: p[1])
            best = f' | front {len(st["front"])}: best mAP {top[1]:.3f} @ {top[2]:.0f} ms'
        return (f'[structural] {finished}/{self.target} done ({st["done"]} ok, {st["failed"]} failed), '
                f'{st["running"]} running{best} | HV {st["hypervolume"]:.2f}'
                f' | {time.time() - self.t0:.0f}s{eta}')

    def _after_trial(self, study, frozen) -> None:
        with self._lock:
            st = self.status(study)
            vis = self._visualizer()
            step = st['done'] + st['failed']
            if frozen.state == TrialState.COMPLETE and 'duplicate_of' not in frozen.user_attrs:
                vis.add_scalar('trial/mAP', frozen.values[0], step=step)
                vis.add_scalar('trial/latency_ms', frozen.values[1], step=step)
                vis.add_scalar('trial/gflops', frozen.user_attrs.get('flops', 0) / 1e9, step=step)
            vis.add_scalar('search/front_hypervolume', st['hypervolume'], step=step)
            vis.add_scalar('search/front_size', len(st['front']), step=step)
            vis.add_scalar('search/failed', st['failed'], step=step)
            if frozen.state == TrialState.FAIL and 'error' in frozen.user_attrs:
                print(f'[structural] trial {frozen.number} {frozen.user_attrs.get("arch")} failed: '
                      f'{frozen.user_attrs["error"]}', flush=True)
            print(self.progress_line(st), flush=True)
            if step >= self.target or st['trials'] >= self.target * int(self.opts['max_trials_factor']):
                study.stop()

    # ------------------------------------------------------------------ run
    def run(self) -> optuna.Study:
        """Search until ``n_trials`` distinct architectures are evaluated (or failed)."""
        study = self.open()
        print(f'[structural] space: {self.space.explain_count()}', flush=True)
        st = self.status(study)
        print(self.progress_line(st), flush=True)
        if st['done'] + st['failed'] < self.target:
            study.optimize(self.objective, n_jobs=self.workers, catch=(TrialFailed, ),
                           callbacks=[self._after_trial])
        if self._vis is not None:
            self._vis.close()
        return study
