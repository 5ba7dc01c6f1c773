"""Evolutionary multi-objective search over the structural space (SM-NAS stage 1).

NSGA-II (:class:`~smnas.search.evolution.EvolutionarySearch`) proposes candidates;
each is trained, evaluated (val bbox mAP) and measured (latency on this device) in
its own process (:mod:`smnas.search.trial`), so a crash, a NaN or a timeout fails
that candidate only. Raw choices that :meth:`StructuralSpace.repair` maps onto the
same valid candidate reuse its result; a killed search resumes its trainings.
"""
import contextlib
import copy
import os
import queue
from pathlib import Path
from typing import Optional

import optuna
from mmengine.config import Config

from ..records import TrialResult
from ..structural.builder import build_config
from ..structural.space import StructuralSpace
from ..utils import atomic_write_json
from .evolution import ENGINE_DEFAULTS, EvolutionarySearch
from .trial import run_trial_subprocess

SEARCH_DEFAULTS = dict(
    ENGINE_DEFAULTS,
    study_name='structural',
    num_classes=None,        # read from the training annotation file when None
    model_options={},        # build_model_cfg options (fpn_channels, fc_channels, norm...)
    trial_overrides={},      # {arch substring: {dotted cfg key: value}} applied per candidate
    fidelity={},             # halving.FIDELITY_DEFAULTS overrides: kind 'fixed' or 'halving', eta,
                             # rungs, repeats (extra seeds of the most accurate candidate; with
                             # the fixed schedule only when set here)
)


class StructuralSearch(EvolutionarySearch):
    """One worker of a structural search.

    Args:
        cfg: the search config: an mmdet config (data, schedule, runtime) plus
            ``search_space`` (``StructuralSpace`` arguments), ``search`` (see
            :data:`SEARCH_DEFAULTS`) and ``measure`` (latency warm-up and repeats).
        work_dir: where the study, trial folders, TensorBoard events and reports go.
        storage: Optuna storage URL (default: ``sqlite:///<work_dir>/study.db``).
        workers: candidates trained at once by this process.
    """
    label = 'structural'
    cost_key = 'latency_ms'
    cost_name = 'latency_ms'
    cost_unit = 'ms'
    result_keys = ('mAP', 'mAP_50', 'mAP_se', 'latency_ms', 'flops', 'params', 'device', 'train_seconds',
                   'input_size')

    def __init__(self, cfg: Config, work_dir: str, storage: Optional[str] = None, workers: int = 1):
        opts = dict(SEARCH_DEFAULTS, **dict(cfg.get('search', {})))
        super().__init__(work_dir, opts, storage, workers, study_name=opts['study_name'])
        self.cfg = cfg
        self.space = StructuralSpace.from_cfg(cfg.get('search_space'))
        self.target = min(self.target, self.space.count())
        self.base = copy.deepcopy(cfg)
        for key in ('search_space', 'search'):
            self.base.pop(key, None)
        self.num_classes = self.opts['num_classes'] or self._count_classes()
        self._devices = self._device_pool()

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

    # ------------------------------------------------------------------ a trial
    def candidate_config(self, cand) -> Config:
        """The complete training config of a candidate (with per-arch overrides)."""
        cfg = build_config(cand, self.space, self.base, self.num_classes, self.opts['model_options'])
        for pattern, options in self.opts['trial_overrides'].items():
            if pattern in str(cand):
                cfg.merge_from_dict(dict(options))
        cfg.measure = dict(self.cfg.get('measure', {}))
        return cfg

    def meta(self) -> dict:
        return dict(space=self.space.to_dict(), space_count=self.space.count(),
                    search={k: v for k, v in self.opts.items() if k != 'trial_overrides'},
                    num_classes=self.num_classes, config=self.cfg.filename)

    def propose(self, trial: optuna.Trial) -> str:
        """Suggest backbone, neck, detector and input; repair onto a valid candidate."""
        ch = self.space.choices()
        raw = dict(backbone=trial.suggest_categorical('backbone', ch['backbone']),
                   neck=trial.suggest_categorical('neck', ch['neck']),
                   detector=trial.suggest_categorical('detector', ch['detector']),
                   input_size=trial.suggest_categorical('input', ch['input']))
        return str(self.space.repair(**raw))

    def train(self, cfg: Config, result_dir: Path) -> TrialResult:
        """Train, evaluate and measure one candidate config in a subprocess on a free
        device.

        Raises:
            TrialFailed: the training failed (cause in the message).
        """
        with self._device() as env:
            return run_trial_subprocess(cfg, result_dir, self.opts['trial_timeout'], env)

    def evaluate(self, arch: str, result_dir: Path) -> TrialResult:
        """Train, evaluate and measure ``arch`` with the whole schedule."""
        from ..structural.space import Candidate

        return self.train(self.candidate_config(Candidate.parse(arch)), result_dir)

    def on_trial_logged(self, vis, frozen, step: int, status: dict) -> None:
        vis.add_scalar('trial/gflops', frozen.user_attrs.get('flops', 0) / 1e9, step=step)

    def run(self) -> optuna.Study:
        """Search with the fixed schedule (NSGA-II, every candidate trained fully) or
        by successive halving (``search.fidelity.kind``); then train the most accurate
        candidate again with ``fidelity.repeats`` other seeds (its noise, in
        ``fidelity.json`` and the report)."""
        from .halving import FIDELITY_DEFAULTS, RECORD, HalvingRun

        fid = dict(FIDELITY_DEFAULTS, **dict(self.opts.get('fidelity') or {}))
        if fid['kind'] not in ('fixed', 'halving'):
            raise ValueError(f"search.fidelity.kind must be 'fixed' or 'halving', got {fid['kind']!r}")
        print(f'[structural] space: {self.space.explain_count()}', flush=True)
        if fid['kind'] == 'halving':
            study = self.open()
            HalvingRun(self).run(study)
            return study
        study = super().run()
        # the fixed schedule repeats only when asked (each repeat is a whole training)
        if int(dict(self.opts.get('fidelity') or {}).get('repeats', 0)) > 0:
            from .study import arch_outcomes

            top = [dict(arch=a, mAP=o['values'][0]) for a, o in arch_outcomes(study).items()
                   if o['state'] == 'complete']
            noise = HalvingRun(self).repeat_best(top)
            atomic_write_json(self.work_dir / RECORD, dict(kind='fixed', repeats=noise), indent=1)
        return study
