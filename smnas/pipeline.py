"""The whole SM-NAS pipeline as one command.

    smnas run configs/pipeline/quickstart_synthetic.py [--work-dir DIR]

1. structural search (every candidate trained; front C0-C5), unless the config
   names a ``structure``;
2. the structure the modular stage refines: the most accurate front model it
   supports (FPN, plain RPN or none; Faster/Cascade R-CNN or RetinaNet);
3. a supernet built around it, trained with several random subnets per step (weight sharing);
4. subnet search with inherited weights against FLOPs; finalists E0-E5 exported;
5. finalists retrained from scratch and measured; final report.

Every stage skips what is done and resumes what was interrupted when the command is
rerun (studies, checkpoints and per-architecture results live in the work dir).
``pipeline.json`` records each stage's outcome and time.
"""
import argparse
import copy
import sys
import time
from pathlib import Path
from typing import List, Optional

from mmengine.config import Config

from .engine.eta import PipelineEta, PipelinePlan, parse_hms, rates_from_trials
from .engine.jobs import JobFailed, supernet_checkpoint, train_supernet
from .utils import atomic_write_json, atomic_write_text, collect_env_versions


class PipelineError(RuntimeError):
    """A stage cannot go on (the message says why and what to do)."""


#: how the report names each block family of the modular space
BLOCK_WORDS = {'basic': 'basic', 'bottleneck': 'bottleneck', 'grouped': 'grouped-bottleneck (ResNeXt)',
               'inverted': 'inverted-residual (MobileNetV2)'}


def choose_structure(points: List[tuple]) -> tuple:
    """The structure the modular stage refines: the most accurate model of the front
    of the structures it supports.

    Args:
        points: (structure, mAP, latency) of every finished structural candidate.

    Returns:
        (structure, [(structure, reason)] of more accurate front models passed over).

    Raises:
        PipelineError: no finished candidate is supported.
    """
    from .modular.structure import structure_problems

    from .search.pareto import pareto_front
    from .structural import Candidate

    problems = {a: structure_problems(Candidate.parse(a)) for a, _, _ in points}
    supported = pareto_front([p for p in points if not problems[p[0]]])
    if not supported:
        raise PipelineError('no finished structural candidate can be refined by the modular stage '
                            '(it needs C4, or an FPN from P2 up):\n' +
                            '\n'.join(f'  {a}: [{problems[a][0][0]}] {problems[a][0][1]}'
                                      for a, _, _ in points) +
                            '\nwiden the structural search or set pipeline.structure')
    best = max(supported, key=lambda p: p[1])
    passed = [(a, '; '.join(f'[{r}] {m}' for r, m in problems[a]))
              for a, m, _ in pareto_front(points) if problems[a] and m > best[1]]
    return best[0], passed


class Pipeline:
    """Runs (or resumes) the pipeline described by ``cfg.pipeline``.

    Args:
        cfg: a pipeline config: ``pipeline = dict(structural=dict(config=..., cfg_options=...),
            structure=None, supernet=dict(config=..., cfg_options=..., seeds=1),
            subnet_search=dict(cfg_options=..., flops_range=None, finalists=6),
            retrain=dict(cfg_options=..., iters=None, timeout=None, onnx=True))`` (``iters``: the
            finalists' schedule, the supernet's rescaled to this many iterations; ``seeds``: supernets
            trained, each with other seeds, whose mean scores rank the subnets, an ensemble:
            :class:`~smnas.modular.ensemble.SupernetEnsemble`). Stage config paths are relative
            to the pipeline config's folder.
        work_dir: where every stage writes (``structural/``, ``supernet/`` and
            ``supernet_seed<k>/`` for more seeds, ``search/``).
    """

    def __init__(self, cfg: Config, work_dir: str):
        if 'pipeline' not in cfg:
            raise PipelineError(f'{cfg.filename} has no "pipeline" section')
        self.cfg = cfg
        self.spec = cfg.pipeline
        self.work_dir = Path(work_dir)
        self.work_dir.mkdir(parents=True, exist_ok=True)
        self.state_path = self.work_dir / 'pipeline.json'
        self.state = self._load_state()
        self.eta = PipelineEta(self._plan(), self.state.setdefault('eta_rates', {}),
                               {k for k, v in self.state['stages'].items() if v.get('done')})

    # ------------------------------------------------------------------ helpers
    def _load_state(self) -> dict:
        import json

        if self.state_path.is_file():
            return json.loads(self.state_path.read_text())
        return dict(config=str(self.cfg.filename), stages={}, versions=collect_env_versions())

    def _save(self) -> None:
        atomic_write_json(self.state_path, self.state, indent=1)

    def _stage_cfg(self, name: str) -> Config:
        spec = self.spec[name]
        path = Path(spec['config'])
        if not path.is_absolute():
            path = (Path(self.cfg.filename).parent / path).resolve()
        cfg = Config.fromfile(str(path))
        if spec.get('cfg_options'):
            cfg.merge_from_dict(dict(spec['cfg_options']))
        return cfg

    def _record(self, stage: str, t0: float, **info) -> None:
        st = self.state['stages'].setdefault(stage, dict(seconds=0.0))
        st['seconds'] = round(st['seconds'] + time.time() - t0, 1)
        st.update(info, done=True)
        self.eta.done.add(stage)
        self._save()

    @staticmethod
    def _say(msg: str) -> None:
        print(f'[pipeline] {msg}', flush=True)

    def _plan(self) -> PipelinePlan:
        """The run's work per stage, read from the stage configs (for the ETA)."""
        from .data.datasets import count_images

        plan = PipelinePlan()
        if self.spec.get('structural') and not self.spec.get('structure'):
            st = self._stage_cfg('structural')
            plan.structural_trials = int(st.get('search', {}).get('n_trials', 20))
            plan.structural_iters = int(st.train_cfg.max_iters)
        sn = self._stage_cfg('supernet')
        plan.supernet_iters = int(sn.train_cfg.max_iters)
        plan.supernet_members = len(sn.model.get('extremes', ('max', 'min'))) + \
            int(sn.model.get('num_random_subnets', 2))
        plan.supernet_seeds = self.supernet_seeds()
        search = self.spec.get('subnet_search', {})
        opts = dict(sn.get('subnet_search', {}))
        opts.update({k.split('.', 1)[1]: v for k, v in dict(search.get('cfg_options') or {}).items()
                     if k.startswith('subnet_search.')})
        plan.search_trials = int(opts.get('n_trials', 20))
        try:
            plan.val_images = count_images(sn, 'val_dataloader')
        except (OSError, KeyError, ValueError):  # data not prepared yet: priced once it is
            plan.val_images = 0
        plan.finalists = int(search.get('finalists', 6))
        plan.retrain_iters = int(self.spec.get('retrain', {}).get('iters') or plan.supernet_iters)
        return plan

    def _rate(self, **rates) -> None:
        self.eta.rates.update({k: float(v) for k, v in rates.items() if v})
        self._save()

    def input_size(self, structure: str) -> tuple:
        """(w, h) the modular stage trains and scores ``structure`` at: its input size
        scaled by the structural space's ``input_scale`` (as its candidate was trained)."""
        from .structural import Candidate, StructuralSpace

        space = (StructuralSpace.from_cfg(self._stage_cfg('structural').get('search_space'))
                 if self.spec.get('structural') else StructuralSpace())
        return space.scaled_input(Candidate.parse(structure))

    # ------------------------------------------------------------------ stages
    def structural(self) -> str:
        """Run (or resume) the structural search and choose the structure to refine."""
        from .data.prepare import prepare_data
        from .reports.structural import write_structural_report
        from .search.structural import StructuralSearch
        from .search.pareto import pareto_front
        from .search.study import arch_outcomes

        if self.spec.get('structure'):
            self._say(f'structure given by the config: {self.spec["structure"]}')
            return self.spec['structure']
        t0 = time.time()
        cfg = self._stage_cfg('structural')
        prepare_data(cfg.get('prepare_data'))
        search = StructuralSearch(cfg, str(self.work_dir / 'structural'))
        self._say(f'1/4 structural search -> {search.work_dir}')

        def suffix(left):
            if search._durations:
                self.eta.rates['trial_s'] = sum(search._durations) / len(search._durations) / search.workers
            # provisional rates for the later stages, from the candidates trained so far (the
            # chosen structure's own replace them when the stage ends)
            done = [o['attrs'] for o in arch_outcomes(search.study).values()
                    if o['state'] == 'complete'] if search.study else []
            self.eta.rates.update(rates_from_trials(done, self.eta.plan.structural_iters))
            return self.eta.line('structural', left)
        search.progress_suffix = suffix
        study = search.run()
        write_structural_report(search, study)
        outcomes = arch_outcomes(study)
        points = [(a, o['values'][0], o['values'][1])
                  for a, o in outcomes.items() if o['state'] == 'complete']
        if not points:
            failed = [f'{a}: {o["error"]}' for a, o in outcomes.items() if o['state'] == 'failed']
            # A trial killed at search.trial_timeout on a busy machine was still training:
            # say how to give it the time, and that a rerun keeps every finished trial.
            hint = (' (a slow or busy machine: raise search.trial_timeout, and rerun with '
                    'search.retry_failed=True to train the failed candidates again)'
                    if any('timeout' in f for f in failed) else '')
            raise PipelineError('the structural search finished no candidate'
                                + (f'; failed: {"; ".join(failed)}{hint}' if failed else '')
                                + f'; see {search.work_dir}/report.md')
        structure, passed = choose_structure(points)
        chosen = arch_outcomes(study)[structure]['attrs']
        self._rate(**rates_from_trials([chosen], self.eta.plan.structural_iters))
        front = pareto_front(points)
        self._say(f'structure to refine: {structure}' +
                  (f' (passed over: {", ".join(a for a, _ in passed)})' if passed else ''))
        self._record('structural', t0, structure=structure, front=[list(p) for p in front],
                     passed_over=passed, report=str(search.work_dir / 'report.md'))
        return structure

    def supernet_seeds(self) -> int:
        """How many supernets the modular stage trains (``pipeline.supernet.seeds``)."""
        seeds = self.spec['supernet'].get('seeds', 1)
        if not isinstance(seeds, int) or isinstance(seeds, bool) or seeds < 1:
            raise PipelineError(f'pipeline.supernet.seeds must be a whole number >= 1, not {seeds!r}')
        return seeds

    def supernet(self, structure: str) -> List[Path]:
        """Train (or resume) the supernet around ``structure``, and the others of an
        ensemble (``pipeline.supernet.seeds``: the same config, its ``model.seed`` and
        ``randomness.seed`` plus k); returns their final checkpoints."""
        from .modular.structure import with_structure_space
        from .structural.builder import set_input_size

        t0 = time.time()
        cfg = self._stage_cfg('supernet')
        cfg.model.architecture.structure = structure
        # The structure's own block family (R50: bottlenecks...), never another one
        with_structure_space(cfg)
        # ...and its own input size, scaled as the structural stage trained it
        size = self.input_size(structure)
        set_input_size(cfg, size)
        seeds = self.supernet_seeds()
        finals = []
        for k in range(seeds):
            d = self.work_dir / ('supernet' if k == 0 else f'supernet_seed{k}')
            one = copy.deepcopy(cfg) if k else cfg
            if k:  # another draw of the training's noise: its random members, initial weights, data order
                rnd = dict(cfg.get('randomness') or {})
                one.model.seed = int(cfg.model.get('seed') or 0) + k
                one.randomness = dict(rnd, seed=int(rnd.get('seed') or 0) + k)
            label = f'supernet {k + 1} of {seeds}' if seeds > 1 else 'supernet'
            finals.append(self._train_one_supernet(one, structure, d, label, seeds - k - 1))
        self._record('supernet', t0, config=str(self.work_dir / 'supernet' / 'config.py'),
                     checkpoint=str(finals[0]), checkpoints=[str(f) for f in finals], input_size=list(size),
                     block=cfg.model.space.get('block', 'basic'),
                     max_depths=list(cfg.model.space.max_depths),
                     expansions=list(cfg.model.space.get('expansions') or []))
        return finals

    def _train_one_supernet(self, cfg: Config, structure: str, d: Path, label: str, after: int) -> Path:
        """Train (or resume) one supernet of ``cfg`` in ``d``; ``after``: how many more are
        trained after it (their time is part of the stage's ETA)."""
        d.mkdir(parents=True, exist_ok=True)
        cfg_path = d / 'config.py'
        if cfg_path.is_file():
            old = Config.fromfile(str(cfg_path))
            if old.model.architecture.get('structure') != structure:
                raise PipelineError(f'{d} holds a supernet of {old.model.architecture.get("structure")}, '
                                    f'not {structure}; remove it to train a new one')
        atomic_write_text(cfg_path, cfg.pretty_text)
        final = supernet_checkpoint(d, cfg.train_cfg.max_iters)
        if final.is_file():
            self._say(f'2/4 {label} already trained: {final}')
            return final
        self._say(f'2/4 {label} training ({cfg.train_cfg.max_iters} iterations) -> {d} '
                  f'(log: {d / "train.log"})' + self.eta.line('supernet'))
        start = (time.time(), None)

        def progress(it, total, eta):
            nonlocal start
            if start[1] is None:
                start = (time.time(), it)  # the first logged step (a resume starts midway)
            elif it > start[1]:
                members = self.eta.plan.supernet_members
                self.eta.rates['iter_s'] = (time.time() - start[0]) / (it - start[1]) / members
            left = parse_hms(eta)
            one = self.eta.stage_seconds('supernet')
            if after and left is not None and one is not None:  # the supernets still to train
                left += after * one / self.eta.plan.supernet_seeds
            self._say(f'2/4 {label}: iteration {it}/{total}, stage ETA {eta}'
                      + self.eta.line('supernet', left))
        try:
            train_supernet(cfg_path, d, cfg.train_cfg.max_iters, d / 'train.log', progress)
        except JobFailed as e:
            raise PipelineError(str(e)) from None
        self._rate()  # keep the measured rate for a resumed run
        return final

    def search(self, checkpoints: List[Path]):
        """Run (or resume) the subnet search over the supernets' checkpoints (one, or an
        ensemble's); export the finalists."""
        from .modular import export_finalists, load_finalists
        from .reports.subnet import write_subnet_report
        from .search.subnet import SubnetSearch

        t0 = time.time()
        spec = self.spec.get('subnet_search', {})
        cfg = Config.fromfile(str(self.work_dir / 'supernet' / 'config.py'))
        if spec.get('cfg_options'):
            cfg.merge_from_dict(dict(spec['cfg_options']))
        d = self.work_dir / 'search'
        search = SubnetSearch(cfg, [[str(c)] for c in checkpoints], str(d),
                              flops_range=spec.get('flops_range'))
        self._say(f'3/4 subnet search -> {d}' + self.eta.line('subnet_search'))
        if self.eta.plan.val_images == 0:
            self.eta.plan.val_images = search.evaluator.num_images if hasattr(search, 'evaluator') else 0

        def suffix(left):
            return self.eta.line('subnet_search', left)
        search.progress_suffix = suffix
        study = search.run()
        finalists = load_finalists(d) or export_finalists(search, study, int(spec.get('finalists', 6)))
        write_subnet_report(search, study, finalists)
        self._record('subnet_search', t0, finalists=[f.arch for f in finalists])
        return search, study

    def retrain(self, search, study) -> List[dict]:
        """Retrain the finalists (finished ones are kept)."""
        from .modular import retrain_finalists
        from .reports.subnet import write_subnet_report

        t0 = time.time()
        spec = self.spec.get('retrain', {})
        self._say(f'4/4 finalists retrained from scratch -> {search.work_dir}/finalists'
                  + self.eta.line('retrain'))
        records = retrain_finalists(search.work_dir, spec.get('cfg_options'), spec.get('timeout'),
                                    spec.get('iters'), onnx=bool(spec.get('onnx', True)))
        write_subnet_report(search, study, records)
        self._record('retrain', t0, failed=[r.name for r in records if r.error])
        return records

    def report(self, structure: str, records: List[dict]) -> Path:
        """Write ``report.md``: what each stage produced and cost, and the final table."""
        from .reports.tables import finalists_table, noise_lines

        stages = self.state['stages']
        total = sum(s.get('seconds', 0) for s in stages.values())
        lines = ['# SM-NAS pipeline', '', f'- config: `{self.cfg.filename}`',
                 f'- work dir: `{self.work_dir}`', f'- written: {time.strftime("%Y-%m-%d %H:%M:%S")}',
                 f'- structure refined: `{structure}`']
        sn = stages.get('supernet', {})
        if sn.get('block'):
            kind = BLOCK_WORDS.get(sn['block'], sn['block'])
            ratios = (f', expansion ratios {"/".join(str(e) for e in sn["expansions"])}'
                      if sn.get('expansions') else '')
            lines.append(f'- modular space: {kind} blocks (the structure\'s family), at most '
                         f'{"-".join(str(d) for d in sn["max_depths"])} blocks per stage{ratios}')
        if sn.get('input_size'):
            lines.append(f'- supernet, search and finalists at {sn["input_size"][0]}x{sn["input_size"][1]} '
                         f'(the structure\'s input size, scaled as the structural stage trained it)')
        if stages.get('structural', {}).get('passed_over'):
            lines.append('- more accurate front models passed over (not supported by the modular stage): ' +
                         ', '.join(f'`{a}`' for a, _ in stages['structural']['passed_over']))
        lines += ['', '| stage | time (s) | output |', '|---|---|---|']
        outputs = dict(structural='structural/report.md', supernet='supernet/',
                       subnet_search='search/report.md', retrain='search/finalists/')
        for name in ('structural', 'supernet', 'subnet_search', 'retrain'):
            if name in stages:
                lines.append(f'| {name} | {stages[name]["seconds"]:.0f} | `{outputs[name]}` |')
        lines += [f'| total | {total:.0f} | |', '', '## Finalists', ''] + finalists_table(records)
        noise = noise_lines(records)
        lines += [''] + noise if noise else []
        lines += ['', 'Details: `search/report.md` (search plot, front, finalists), `structural/report.md`; '
                  'TensorBoard: `tensorboard --logdir ' + str(self.work_dir) + '`.']
        path = self.work_dir / 'report.md'
        atomic_write_text(path, '\n'.join(lines) + '\n')
        return path

    def run(self) -> Path:
        """All stages in order; returns the final report's path."""
        t0 = time.time()
        structure = self.structural()
        checkpoints = self.supernet(structure)
        search, study = self.search(checkpoints)
        records = self.retrain(search, study)
        path = self.report(structure, records)
        self._say(f'done in {time.time() - t0:.0f}s (this run); report: {path}')
        return path


def main(argv: Optional[List[str]] = None) -> int:
    """``smnas run CONFIG [--work-dir DIR]`` or ``smnas run --data DIR [--work-dir W]
    [--budget-hours H] [--device cpu|cuda]``; returns the exit code."""
    p = argparse.ArgumentParser(prog='smnas', description='SM-NAS: structural-to-modular NAS for detection')
    sub = p.add_subparsers(dest='command', required=True)
    r = sub.add_parser('run', help='run (or resume) the whole pipeline of a config, or of a dataset folder')
    r.add_argument('config', nargs='?',
                   help='a pipeline config, e.g. configs/pipeline/quickstart_synthetic.py')
    r.add_argument('--data', help='a VOC, YOLO or COCO-JSON dataset folder: configs are written to the work '
                                  'dir (rerun or resume with: smnas run WORK_DIR/pipeline.py)')
    r.add_argument('--work-dir', help="default: the config's work_dir, or work_dirs/<config or data name>")
    r.add_argument('--budget-hours', type=float, default=0.5,
                   help='with --data: the run\'s size, calibrated on 2 CPU cores (default 0.5)')
    r.add_argument('--device', choices=('cpu', 'cuda'), default='cpu', help='with --data (default cpu)')
    args = p.parse_args(argv)
    if (args.config is None) == (args.data is None):
        p.error('give a pipeline config or --data DIR (one of the two)')
    try:
        if args.data:
            from .autorun import DataError, run_data
            try:
                run_data(args.data, args.work_dir, args.budget_hours, args.device)
            except DataError as e:
                print(f'[smnas] error: {e}', file=sys.stderr)
                return 2
            return 0
        cfg = Config.fromfile(args.config)
        work_dir = args.work_dir or cfg.get('work_dir') or str(Path('work_dirs') / Path(args.config).stem)
        Pipeline(cfg, work_dir).run()
    except PipelineError as e:
        print(f'[pipeline] error: {e}', file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
