"""The rank-fidelity benchmark's steps (``benchmarks/bench_rank_fidelity.py`` is its command
line): the from-scratch ground truth, each supernet recipe's inherited scores, the timed
search and the summary, over one resumable work dir whose state files
(:mod:`.records`) several runs may share.
"""
import copy
import json
import os
import random
import statistics
import threading
import time
from pathlib import Path
from typing import Optional

from mmengine.config import Config

from smnas.data.prepare import prepare_data
from smnas.engine import read_config, rescale_schedule, with_seed
from smnas.engine.jobs import JobFailed, per_process_batch, run_parallel, supernet_checkpoint, train_supernet
from smnas.search.pareto import spread_subnets
from smnas.search.subnet import SUBNET_DEFAULTS, SubnetSearch
from smnas.utils import atomic_write_json, collect_env_versions
from supernet.space import ModularSpace, Subnet

from .rank_report import INHERITED_BOOTSTRAP, GroundTruth, pooled_loss_terms, subnet_choices
from .records import TRUTH, VARIANT, logged_train_seconds, state_from_record, subnet_seeds, variant_names
from .stats import linear_fit, rank_agreement
from .store import JsonStore


def _plain(obj):
    """A JSON round trip: config values as plain dicts, lists and numbers."""
    return json.loads(json.dumps(obj))


#: --few-shot's choices: the subnet field -> the space's choice list it splits
FEW_SHOT_KEYS = {'neck': 'neck_channels', 'head': 'head_channels', 'base': 'bases', 'expand': 'expansions'}


#: the supernet's keys that make its training recipe (what recipes' --cfg-options change);
#: its seed too, so that a second seed of the default recipe is not taken for the default
RECIPE_KEYS = ('extremes', 'num_random_subnets', 'sampling', 'average_members', 'distill', 'distill_weight',
               'part', 'seed', 'max_sampled')


def training_recipe(config: str, cfg_options=None) -> dict:
    """The supernet training recipe of ``config`` with ``cfg_options`` applied."""
    model = read_config(config, cfg_options).model
    return {k: _plain(model.get(k)) for k in RECIPE_KEYS}


def default_variant(config: str, variants: dict) -> str:
    """The variant that measures the recipe ``config`` trains by default: 'base' unless its
    recorded options say it trained another (a record made before the configs' default
    changed), then the first variant of its own supernet whose options give the config's
    recipe; 'base' if none does."""
    want = training_recipe(config)
    # a variant of its own supernet, unfine-tuned, whole (a record's older variants say
    # nothing of their recipe: only base is taken on trust)
    own = [n for n, v in variants.items()
           if (n == 'base' or 'recipe' in v) and not any((v.get('recipe') or {}).values())]
    for name in sorted(own, key=lambda n: n != 'base'):
        if training_recipe(config, variants[name].get('cfg_options')) == want:
            return name
    return 'base'


def coverage_order(items: list) -> list:
    """``items`` (sorted) reordered so that every prefix spreads over the whole list: the
    ends, the middle, then the middles of the halves... (bisection order)."""
    if len(items) <= 2:
        return list(items)
    order, seen, spans = [0, len(items) - 1], {0, len(items) - 1}, [(0, len(items) - 1)]
    while spans:
        nxt = []
        for lo, hi in spans:
            mid = (lo + hi) // 2
            if mid not in seen:
                seen.add(mid)
                order.append(mid)
            if mid - lo > 1:
                nxt.append((lo, mid))
            if hi - mid > 1:
                nxt.append((mid, hi))
        spans = nxt
    return [items[i] for i in order]


def truth_batches(archs: list, seeds: int, order: str = 'seed') -> list:
    """The from-scratch truth's trainings as batches of jobs, each batch run after the one
    before (its jobs side by side), each job ``(arch, seeds)`` training those seeds in turn.

    Args:
        archs: the subnets, in the order to train them.
        seeds: seeds 0 to ``seeds - 1`` of each.
        order: ``'seed'``: one seed over every subnet at a time, so that a stopped run leaves
            whole seeds (and the trainings it stopped); seed 0 in a batch of its own, as a
            subnet's later seeds need its seed 0, and the later seeds in one batch, so that a
            seed's last trainings (its largest) leave no core idle: the next seed's first ones
            start beside them. ``'subnet'``: every seed of a subnet in one job, subnet after
            subnet: the seeds' agreement is known on the subnets trained so far.

    Returns:
        The batches: lists of ``(arch, seeds)``.
    """
    if order == 'subnet':
        return [[(a, tuple(range(seeds))) for a in archs]]
    if order != 'seed':
        raise ValueError(f"seed order {order!r}: 'seed' or 'subnet'")
    later = [(a, (s,)) for s in range(1, seeds) for a in archs]
    return [[(a, (0,)) for a in archs]] + ([later] if later else [])


def trained_supernet(cfg, work_dir: Path, procs: int = 1) -> Path:
    """The final checkpoint of ``cfg``'s supernet in ``work_dir``: trained in its own
    process, or ``procs`` data-parallel ones with the same total batch (resumed if
    interrupted), or as a finished run left it."""
    work_dir.mkdir(exist_ok=True)
    cfg_path = work_dir / 'config.py'
    if procs > 1:
        cfg = Config(copy.deepcopy(cfg.to_dict()))
        try:
            cfg.train_dataloader.batch_size = per_process_batch(cfg.train_dataloader.batch_size, procs)
        except ValueError as e:
            raise SystemExit(f'--supernet-procs {procs}: {e}') from None
    cfg.dump(str(cfg_path))
    try:
        return train_supernet(cfg_path, work_dir, cfg.train_cfg.max_iters, procs=procs)
    except JobFailed as e:
        raise SystemExit(str(e)) from None


def _say(line: str) -> None:
    # one write per line: trainings side by side print from their threads, and print()'s
    # separate write of the newline lets two lines run together
    print(line + '\n', end='', flush=True)


class RankFidelity:
    """The benchmark's steps over one work dir (see :mod:`smnas.benchmarks.records`).

    A *variant* is another supernet training recipe (``--variant NAME --cfg-options ...``:
    sandwich size, distillation, schedule...) scored against the same from-scratch
    ground truth, which is trained once, by the ``base`` variant. Every change is one
    transaction on the state file it belongs to, so runs sharing the work dir (a
    variant beside a seeds run) keep each other's results.
    """

    def __init__(self, config: str, work_dir: str, cfg_options=None, retrain_options=None,
                 n_subnets: int = 8, seed: int = 0, scratch_iters=None, search_subnets: int = 300,
                 supernet_iters=None, variant: str = 'base', noise_seeds: int = 0, scratch_seeds: int = 1,
                 record=None, truth_first: bool = False, jobs: int = 1, supernet_of: str = None,
                 finetune_iters: int = 0, finetune_lr: float = None, few_shot: str = None,
                 few_shot_iters: int = None, seed_order: str = 'seed', supernet_procs: int = 1,
                 scratch_fit_from: str = None, score_jobs: int = 1, means=None):
        self.config = config
        # subnets scored with inherited weights side by side, each in its own process
        self.score_jobs = max(1, int(score_jobs))
        # The from-scratch price of a subnet from an earlier run's cost breakdown (its
        # measured trainings), instead of training subnets again: for re-measuring the
        # supernet and search side of the stage after a change there.
        self.scratch_fit_from = scratch_fit_from
        self.scratch_fit_rows = scratch_fit_rows(scratch_fit_from) if scratch_fit_from else None
        self.supernet_procs = max(1, int(supernet_procs))
        self.seed_order = seed_order
        # Recipes that score with another variant's supernet: a short fine-tune of each
        # subnet before it is scored, or few-shot parts trained from it.
        self.supernet_of = supernet_of
        self.finetune_iters, self.finetune_lr = int(finetune_iters or 0), finetune_lr
        if few_shot and few_shot not in FEW_SHOT_KEYS:
            raise SystemExit(f'--few-shot splits the space on one of {", ".join(FEW_SHOT_KEYS)}, '
                             f'not {few_shot!r}')
        self.few_shot, self.few_shot_iters = few_shot, few_shot_iters
        self.truth_first = truth_first
        self.jobs = max(1, int(jobs))
        self.cfg = read_config(config, cfg_options)
        if supernet_iters:
            rescale_schedule(self.cfg, int(supernet_iters))
        self.work_dir = Path(work_dir)
        self.work_dir.mkdir(parents=True, exist_ok=True)
        self.retrain_options = retrain_options or {}
        self.n = n_subnets
        self.seed = seed
        self.variant = variant
        self.is_base = variant == 'base'
        self.record = record
        self.truth = JsonStore(self.work_dir / TRUTH)
        self.variant_store = JsonStore(self.work_dir / VARIANT.format(variant))
        if not self.truth.read().get('subnets') and record and Path(record).is_file():
            self._restore(record)
        self.search_subnets = int(search_subnets) if self.is_base else 0
        self.noise_seeds = int(noise_seeds) if self.is_base else 0
        self.scratch_seeds = max(int(scratch_seeds), 1) if self.is_base else 1
        space = _plain(self.cfg.model.space.to_dict())
        # One common schedule: a stored run keeps the one it started with.
        schedule = _plain(dict(iters=scratch_iters, options=self.retrain_options))
        self.scratch_iters = scratch_iters
        with self.truth.update() as truth:
            if truth.setdefault('space', space) != space:
                raise SystemExit(f'{self.work_dir} ranks subnets of the space {truth["space"]}; the variant '
                                 f'{variant!r} trains {space}: variants may change how, not what, is trained')
            if not self.is_base and not truth.get('subnets'):
                raise SystemExit(f'run the base variant in {self.work_dir} first: it trains the ground truth')
            trained = any('mAP_scratch' in r for r in truth.get('subnets', {}).values())
            if self.is_base and trained and truth.get('scratch', schedule) != schedule:
                raise SystemExit(f'{self.work_dir} trained subnets from scratch with {truth["scratch"]}; '
                                 f'rerun with the same --scratch-iters/--retrain-options, or use '
                                 f'another --work-dir')
            if self.is_base:
                truth['scratch'] = schedule
        if means:
            self.add_means(means)
        with self.variant_store.update() as v:
            # Every invocation's options are kept: a rerun that only resumes (or only adds a
            # search option) must not erase what an earlier one ran with.
            v.update(cfg_options=dict(v.get('cfg_options') or {}, **_plain(cfg_options or {})),
                     supernet_iters=supernet_iters)
            recipe = dict(supernet_of=supernet_of, finetune_iters=self.finetune_iters,
                          finetune_lr=finetune_lr, few_shot=few_shot, few_shot_iters=few_shot_iters)
            if v.setdefault('recipe', recipe) != recipe:
                raise SystemExit(f'the variant {variant!r} was scored with {v["recipe"]}; give it the same '
                                 f'options, or another --variant name')

    def add_means(self, means: list) -> None:
        """Rank by the mean score over several recipes' supernets too (each a list of
        variant names, scored in this work dir): the search's ensemble of different
        supernets (``tools/search_subnet.py --checkpoint A --checkpoint B``). Kept in the
        truth's state and the record, so every later summary ranks them.

        Args:
            means: lists of two or more variant names.
        """
        known = set(variant_names(self.work_dir))
        for members in means:
            members = list(members)
            missing = [m for m in members if m not in known]
            if len(members) < 2 or len(set(members)) < len(members) or missing:
                raise SystemExit(f'--mean-of takes two or more different variants of {self.work_dir} '
                                 f'(it has {", ".join(sorted(known))}), not {",".join(members)}')
            with self.truth.update() as truth:
                if members not in truth.setdefault('means', []):
                    truth['means'].append(members)

    def _restore(self, record: str) -> None:
        """A new machine: what an earlier run recorded is not trained again."""
        truth, variants = state_from_record(json.loads(Path(record).read_text()))
        with self.truth.update() as t:
            t.update(truth)
        for name, state in variants.items():
            with JsonStore(self.work_dir / VARIANT.format(name)).update() as v:
                v.update(state)
        print(f'[rank] restored from {record}: {len(truth["subnets"])} subnets, variants '
              f'{sorted(variants)}', flush=True)

    def import_variants(self, record: str) -> list:
        """Score the recipes of another record against this work dir's truth: their
        inherited scores (of the same space's subnets) are copied in, each variant
        marked ``imported_from``; one this work dir has scored itself is kept. For a truth
        trained elsewhere (a GPU run with 4x the batch) checking supernets trained here.

        Returns:
            The variants imported.
        """
        truth, variants = state_from_record(json.loads(Path(record).read_text()))
        mine = self.truth.read()
        if truth['space'] != mine.get('space'):
            raise SystemExit(f'{record} ranks subnets of the space {truth["space"]}, {self.work_dir} of '
                             f'{mine.get("space")}: only recipes of the same space compare')
        done = []
        for name, state in variants.items():
            with JsonStore(self.work_dir / VARIANT.format(name)).update() as v:
                if v.get('inherited') and not v.get('imported_from'):
                    continue
                v.update(state, imported_from=str(record))
                done.append(name)
        print(f'[rank] imported from {record}: {sorted(done)}', flush=True)
        return done

    def _write_record(self) -> None:
        """Rewrite the results file (the record) after a from-scratch result or an inherited
        score: a run stopped on a machine that is then lost keeps every one it finished."""
        if self.record:
            atomic_write_json(self.record, self.summary(), indent=1)

    def supernet_dir(self, variant: str) -> Path:
        """Where a recipe's supernet trains (``supernet`` for base, ``supernet_<variant>`` else).

        Args:
            variant: the recipe's name.

        Returns:
            The folder of its checkpoints and logs, inside the work dir.
        """
        return self.work_dir / ('supernet' if variant == 'base' else f'supernet_{variant}')

    def train_supernet(self) -> Path:
        """This recipe's supernet, trained or resumed to its schedule's end.

        A recipe that scores with another's supernet (``supernet_of``) trains nothing and needs
        that one finished. The training's logged seconds go into the variant's state.

        Returns:
            The final checkpoint.
        """
        if self.supernet_of:
            final = supernet_checkpoint(self.supernet_dir(self.supernet_of), self.cfg.train_cfg.max_iters)
            if not final.is_file():
                raise SystemExit(f'{final} is missing: run the {self.supernet_of!r} variant first (its '
                                 f'supernet is the one this recipe scores with)')
            return final
        d = self.supernet_dir(self.variant)
        if supernet_checkpoint(d, self.cfg.train_cfg.max_iters).is_file():
            final = trained_supernet(self.cfg, d, self.supernet_procs)
        else:
            # Wall time of the training processes (an interrupted one is not counted;
            # the summary uses the logged step times, which survive interruptions).
            t0 = time.time()
            try:
                final = trained_supernet(self.cfg, d, self.supernet_procs)
            finally:
                with self.variant_store.update() as v:
                    v['supernet_wall_seconds'] = (v.get('supernet_wall_seconds') or 0.0) + time.time() - t0
        # Kept in the state: the logs that time it stay on this machine.
        with self.variant_store.update() as v:
            v['supernet_seconds'] = logged_train_seconds(d)
        return final

    def run(self) -> dict:
        """Every step this run still owes, each resumed from what the work dir stores.

        With ``truth_first`` and the base recipe: the subnets' picks and their from-scratch
        trainings only. Otherwise the recipe's supernet and its inherited scores, then (base
        recipe) the from-scratch truth and the search whose cost is priced.

        Returns:
            The summary (what the record holds).
        """
        from smnas.search.subnet import val_input_size

        prepare_data(self.cfg.get('prepare_data'))
        if self.truth_first and self.is_base:
            # The ground truth needs no supernet: its subnets are picked by FLOPs alone, which
            # an untrained supernet prices as a trained one would (the same picks, seeded).
            if not self.truth.read().get('subnets'):
                self.pick_subnets(self.untrained_supernet())
            self.train_from_scratch(val_input_size(self.cfg))
            return self.summary()
        inherited = self.variant_store.read().get('inherited', {})
        truth = self.truth.read()
        rows = truth.get('subnets')
        to_search = truth.get('search', {}).get('subnets', 0) < self.search_subnets
        ckpt = None
        if rows is None or any(a not in inherited for a in rows) or to_search:
            ckpt = self.train_supernet()
            self.score_inherited(ckpt)
        if self.is_base:
            if not self.scratch_fit_from:
                self.train_from_scratch(val_input_size(self.cfg))
            if to_search:
                self.search(ckpt)
        return self.summary()

    def untrained_supernet(self):
        """The config's supernet, built and not trained: enough to price subnets in FLOPs."""
        from mmdet.registry import MODELS
        from mmengine.registry import DefaultScope

        from smnas.register import register_all_modules

        register_all_modules()
        with DefaultScope.overwrite_default_scope('mmdet'):
            return MODELS.build(self.cfg.model)

    def pick_subnets(self, model) -> list:
        """The subnets ranked (picked once, stored with their table GFLOPs)."""
        from smnas.search.subnet import val_input_size
        from supernet.flops import FlopsTable

        table = FlopsTable(model, val_input_size(self.cfg))
        with self.truth.update() as truth:
            if 'subnets' not in truth:
                picks = spread_subnets(model.space, table.flops, self.n, random.Random(self.seed))
                truth['subnets'] = {k: {} for k in picks}
            for arch, r in truth['subnets'].items():
                r['gflops'] = table.flops(arch) / 1e9
            return list(truth['subnets'])

    def part_dir(self, value) -> Path:
        """Where the few-shot supernet of one choice trains.

        Args:
            value: the choice of the split key (a neck width, say).

        Returns:
            ``supernet_<variant>_<key><value>`` inside the work dir.
        """
        return self.work_dir / f'supernet_{self.variant}_{self.few_shot}{value}'

    def train_parts(self, ckpt: Path) -> dict:
        """Few-shot NAS: one supernet per choice of ``--few-shot``, each starting from the
        one-shot supernet ``ckpt`` and trained on its part of the space for
        ``--few-shot-iters`` more steps (default: the schedule split between the parts,
        so that the parts together cost one more supernet)."""
        key = FEW_SHOT_KEYS[self.few_shot]
        values = list(self.cfg.model.space[key])
        iters = int(self.few_shot_iters or max(1, self.cfg.train_cfg.max_iters // len(values)))
        parts = {}
        for value in values:
            d = self.part_dir(value)
            cfg = copy.deepcopy(self.cfg)
            cfg.model.part = {key: [value]}
            cfg.load_from = str(ckpt)
            rescale_schedule(cfg, iters)
            if not supernet_checkpoint(d, iters).is_file():
                print(f'[rank] {self.variant}: training the {self.few_shot}={value} part ({iters} steps)',
                      flush=True)
            parts[value] = (cfg, trained_supernet(cfg, d, self.supernet_procs))
        with self.variant_store.update() as v:
            v['parts_seconds'] = {str(k): logged_train_seconds(self.part_dir(k)) for k in values}
        return parts

    def score_inherited(self, ckpt: Path) -> None:
        """Pick the subnets (once) and score each with the variant's inherited weights
        (few-shot: the weights of the part holding it; optionally fine-tuned first),
        ``self.score_jobs`` at a time."""
        from smnas.benchmarks.scoring import Scorer, ScoringOptions, score_subnets

        if self.few_shot:
            scorers = {k: Scorer(cfg, str(final), str(self.work_dir / f'eval_{self.variant}_{k}'))
                       for k, (cfg, final) in self.train_parts(ckpt).items()}
            dim = self.few_shot

            def scorer_of(arch):
                return scorers[getattr(Subnet.parse(arch), dim)]
        else:
            single = Scorer(self.cfg, str(ckpt), str(self.work_dir / 'eval'))

            def scorer_of(arch):
                return single
        archs = self.pick_subnets(self.untrained_supernet())
        gflops = {a: r.get('gflops', 0.0) for a, r in self.truth.read()['subnets'].items()}
        done = self.variant_store.read().get('inherited', {})
        # Spread over the FLOPs range first: a run stopped part-way ranks a spread of the space
        tasks = [(a, scorer_of(a)) for a in coverage_order(sorted(archs, key=lambda a: gflops.get(a, 0.0)))
                 if 'val_loss' not in done.get(a, {})]
        options = ScoringOptions(bootstrap=INHERITED_BOOTSTRAP, finetune_iters=self.finetune_iters,
                                 finetune_lr=self.finetune_lr, seed=self.seed)
        # the record keeps every score too: a new machine rescores none
        score_subnets(tasks, self.variant_store.path, options, jobs=self.score_jobs,
                      stored=lambda arch, score: self._write_record())

    def _run_jobs(self, jobs: list) -> None:
        """Run ``jobs`` (callables that each train in their own process), ``self.jobs`` at a
        time: several trainings share a GPU, or the cores of a large CPU machine. A stop
        (SIGTERM, Ctrl-C) kills the running ones and starts no other; a rerun resumes them."""
        run_parallel(jobs, self.jobs)  # an unexpected error stops the run (a failed training does not)

    def train_from_scratch(self, size) -> None:
        """Every picked subnet trained from scratch with the common schedule, in its own process."""
        from smnas.modular.export import export_config
        from smnas.modular.finalists import retrain_config
        from smnas.records import Finalist
        from smnas.search.trial import TrialFailed, run_trial_subprocess

        def train(arch: str, seed: int):
            out = self.work_dir / 'subnets' / arch
            cfg_path = export_config(self.cfg, arch, str(out))
            cfg = retrain_config(Finalist(name=arch, arch=arch, config=cfg_path, input_size=list(size)),
                                 self.retrain_options, self.scratch_iters)
            if seed:
                with_seed(cfg, seed)
            # Trainings side by side share the cores instead of each taking them all
            threads = str(max(1, (os.cpu_count() or 1) // self.jobs))
            env = {'OMP_NUM_THREADS': threads} if self.jobs > 1 else None
            run_dir = out / ('scratch' if not seed else f'scratch_seed{seed}')
            return run_trial_subprocess(cfg, run_dir, env=env)

        lock = threading.Lock()  # trainings side by side: one store and record rewrite at a time

        def store(change) -> None:
            with lock:
                with self.truth.update() as truth:
                    change(truth)
                self._write_record()

        def first(arch):
            _say(f'[rank] {arch}: training from scratch')
            t0 = time.time()
            try:
                res = train(arch, 0)
            except TrialFailed as e:
                result = dict(error=str(e))
            else:
                # Wall time of the whole child: training, scoring and measuring it.
                result = dict(mAP_scratch=res.mAP, mAP_50_scratch=res.mAP_50, params_m=res.params / 1e6,
                              mAP_se_scratch=res.mAP_se,  # its noise over the val images (bootstrap)
                              scratch_seconds=time.time() - t0, train_seconds=res.train_seconds,
                              gflops_thop=res.flops / 1e9)
            store(lambda t, arch=arch, result=result: t['subnets'][arch].update(result))

        def again(arch, seed):
            _say(f'[rank] {arch}: training from scratch, seed {seed}')
            try:
                m = train(arch, seed).mAP
            except TrialFailed as e:
                _say(f'[rank] {arch} seed {seed} failed: {e}')
                return

            def add(t, arch=arch, seed=seed, m=m):
                row = t['subnets'][arch]
                row.setdefault('mAP_scratch_seeds', {'0': row['mAP_scratch']})[str(seed)] = m
            store(add)

        # A ground truth that resolves the ranking: every subnet again with other seeds, one
        # seed over all subnets at a time (a stopped run leaves whole seeds).
        def missing(arch, seed) -> bool:
            truth = self.truth.read()
            r = truth['subnets'][arch]
            if not seed:
                return 'mAP_scratch' not in r  # a failed training is tried again
            return ('mAP_scratch' in r  # else its seed 0 failed: the error says why
                    and str(seed) not in subnet_seeds(arch, r, truth.get('noise', {})))

        def train_seeds(arch, seeds) -> None:
            for seed in seeds:
                if not missing(arch, seed):
                    continue
                if seed:
                    again(arch, seed)
                else:
                    first(arch)

        archs = list(self.truth.read()['subnets'])
        for batch in truth_batches(archs, self.scratch_seeds, self.seed_order):
            self._run_jobs([lambda a=a, seeds=seeds: train_seeds(a, seeds) for a, seeds in batch])
        # The ground truth's own noise: the median-FLOPs subnet again with other seeds.
        truth = self.truth.read()
        rows = truth['subnets']
        trained = sorted((r['gflops'], a) for a, r in rows.items() if 'mAP_scratch' in r)
        if self.noise_seeds and trained:
            arch = trained[len(trained) // 2][1]
            noise = truth.get('noise') or dict(arch=arch, mAP={'0': rows[arch]['mAP_scratch']})
            for seed in range(1, self.noise_seeds + 1):
                if str(seed) in noise['mAP'] or noise['arch'] != arch:
                    continue
                _say(f'[rank] {arch}: training from scratch again, seed {seed}')
                try:
                    noise['mAP'][str(seed)] = train(arch, seed).mAP
                except TrialFailed as e:
                    _say(f'[rank] seed {seed} failed: {e}')
                snapshot = copy.deepcopy(noise)
                store(lambda t, snapshot=snapshot: t.update(noise=snapshot))

    def search(self, ckpt: Path) -> None:
        """The modular stage's subnet search on the same supernet, timed (resumable: the
        time of every invocation that evaluated subnets is added up)."""
        from smnas.modular.finalists import select_finalists
        from smnas.search.study import arch_outcomes
        from smnas.search.subnet import SubnetSearch
        from smnas.search.trial import read_stored

        if self.search_subnets <= 0:
            return
        cfg = copy.deepcopy(self.cfg)
        cfg.merge_from_dict({'subnet_search.n_trials': self.search_subnets})
        t0 = time.time()
        search = SubnetSearch(cfg, str(ckpt), str(self.work_dir / 'search'))
        study = search.open()
        done = {a: o for a, o in arch_outcomes(study).items() if o['state'] == 'complete'}
        if len(done) < search.target:
            try:  # the line is printed inside: a stop right after it still records the time
                print(f'[rank] searching {search.target} subnets with inherited weights', flush=True)
                study = search.run()
            finally:
                with self.truth.update() as truth:
                    truth['search_seconds'] = truth.get('search_seconds', 0.0) + time.time() - t0
            done = {a: o for a, o in arch_outcomes(study).items() if o['state'] == 'complete'}
        images = [o['attrs'].get('eval_images', search.evaluator.num_images) for o in done.values()]
        # the mAP of the front's subnets, scored after the search ranked by the val loss alone
        front_map = [(read_stored(search.results_dir / a) or {}).get('map_seconds') for a in done]
        with self.truth.update() as truth:
            truth['search'] = dict(
                scoring=dict(val_images=search.evaluator.num_images, batch=search.evaluator.batch_size,
                             precision=search.evaluator.precision, screen_images=search.screen_images,
                             scored_in_full=sum(n == search.evaluator.num_images for n in images)),
                subnets=len(done), target=search.target,
                gflops_sum=sum(o['values'][1] / 1e9 for o in done.values()),
                eval_seconds=sum(o['attrs'].get('eval_seconds', 0.0) for o in done.values()) +
                sum(t for t in front_map if t),
                score=search.score_key, front_map_scored=sum(t is not None for t in front_map),
                # what tools/search_subnet.py would export: searched against hand-designed trains them
                finalists=[a for a, _, _ in select_finalists(study, 6)])

    def summary(self) -> dict:
        """Rank correlations of every variant against the from-scratch ground truth, with
        bootstrap intervals, the per-subnet table and costs, from what every process
        sharing the work dir stored; written to ``rank_fidelity.json``."""
        state = self.truth.read()
        vstates = {n: JsonStore(self.work_dir / VARIANT.format(n)).read()
                   for n in variant_names(self.work_dir)}
        rows = {k: r for k, r in state['subnets'].items() if 'mAP_scratch' in r}
        seeds = {a: subnet_seeds(a, r, state.get('noise', {})) for a, r in rows.items()}
        gt = GroundTruth.of(seeds)
        truth, truth_seeds, agreement = gt.truth, gt.truth_seeds, gt.agreement
        min_arch = str(ModularSpace.from_dict(state['space']).min_subnet())
        choices = subnet_choices(rows)
        # The recipe the config trains by default (base, unless the record's base trained
        # another); the table's scores and the costs are its, every recipe is paired with it.
        dv = default_variant(self.config, vstates)
        dflt = vstates.get(dv, {}).get('inherited', {})
        variants = gt.rank_variants(vstates, rows, min_arch, choices, dv,
                                    {n: self.supernet_seconds(n, v) for n, v in vstates.items()},
                                    state.get('means', []))
        # nan (a ranking of all-equal scores) is not a tau to compare
        ranked = [n for n, v in variants.items()
                  if v.get('kendall_tau', float('nan')) == v.get('kendall_tau')]
        table = {a: dict(r, mAP_inherited=dflt[a]['mAP'], mAP_50_inherited=dflt[a].get('mAP_50'),
                         inherited_seconds=dflt[a].get('seconds')) if a in dflt else dict(r)
                 for a, r in state['subnets'].items()}
        for a in truth:
            table[a].update(mAP_scratch_mean=truth[a], scratch_seeds=len(truth_seeds),
                            mAP_scratch_seeds=seeds[a])
        timed = [a for a in rows if a in dflt and dflt[a].get('seconds')]
        mean_inh = sum(dflt[a]['seconds'] for a in timed) / max(len(timed), 1)
        mean_scr = sum(rows[a]['scratch_seconds'] for a in timed) / max(len(timed), 1)
        b = variants.get(dv, {})
        # What the search ranks by unless told otherwise; each variant's kendall_tau is by
        # its inherited mAP, its by_score holds every score's.
        score = SUBNET_DEFAULTS['score']
        by_default = (b.get('by_score') or {}).get(score) or {}
        default = dict(variant=dv, score=score, **{k: by_default[k] for k in (
            'kendall_tau', 'kendall_tau_ci95', 'spearman_rho', 'spearman_rho_ci95', 'min_subnet')
            if k in by_default})
        if 'kendall_tau' in default and gt.reliability:  # how much of its gap is the truth's noise
            sign = SubnetSearch.SCORES[score]
            default['projected_tau'] = gt.projected_tau({a: sign * dflt[a][score] for a in truth
                                                         if a in dflt and score in dflt[a]})
        # A recipe with no ranking yet (its supernet training, or fewer than 2 subnets scored)
        # is kept apart: every entry of ``variants`` carries its tau and intervals.
        under_way = {n: v for n, v in variants.items() if 'kendall_tau' not in v}
        variants = {n: v for n, v in variants.items() if n not in under_way}
        out = dict(config=self.config, subnets=table, kendall_tau=b.get('kendall_tau'),
                   # the recipe the supernet configs use; every other is measured against it
                   default_variant=dv, default=default,
                   # the best measured by inherited mAP (the configs' recipe should be the best one)
                   best_variant=max(ranked, key=lambda n: variants[n]['kendall_tau']) if ranked else None,
                   kendall_p=b.get('kendall_p'), spearman_rho=b.get('spearman_rho'),
                   spearman_p=b.get('spearman_p'), truth_seeds=truth_seeds,
                   truth_seed_tau=(agreement or {}).get('mean_seed_pair_tau'),
                   # a truth averages seeds: two truths of disjoint halves of them (the mean over
                   # every split; ground_truth_seeds.split has each) say whether it agrees with itself
                   truth_split_tau=((agreement or {}).get('split') or {}).get('kendall_tau'),
                   truth_split_sizes=((agreement or {}).get('split') or {}).get('sizes'), variants=variants,
                   supernet_seconds=variants.get(dv, {}).get('supernet_seconds', 0.0),
                   mean_inherited_seconds=mean_inh, mean_scratch_seconds=mean_scr,
                   scratch_over_inherited=mean_scr / mean_inh if mean_inh else None,
                   scratch_schedule=state.get('scratch'), seed=self.seed, space=state['space'],
                   # the default recipe's config, as the top-level tau is the default's (not this
                   # process's recipe: every variant carries its own cfg_options)
                   supernet_config=read_config(self.config,
                                               variants.get(dv, {}).get('cfg_options')).to_dict(),
                   versions=collect_env_versions())
        if under_way:
            out['variants_under_way'] = under_way
        if state.get('means'):
            out['means_of'] = state['means']
        if len(state.get('noise', {}).get('mAP', {})) > 1:
            out['ground_truth_noise'] = self.noise_summary(rows, state)
        # What a ranking costs nothing to beat: bigger is better, by FLOPs or by parameters.
        baselines = {}
        for key in ('gflops', 'params_m'):
            have = [a for a in truth if rows[a].get(key) is not None]
            if len(have) >= 3 and len({rows[a][key] for a in have}) > 1:  # all alike rank nothing
                baselines[key] = rank_agreement([rows[a][key] for a in have], [truth[a] for a in have])
        if baselines:
            out['baselines'] = baselines
        # Each val-loss term against the mAP over every supernet trained on its own: one
        # supernet's difference is within noise, pooled they may show beyond it
        pooled = pooled_loss_terms(variants, truth)
        if pooled:
            out['loss_terms_pooled'] = pooled
        # What the search would retrain: each recipe's finalists (by inherited mAP) against
        # the true accuracy-FLOPs front
        front = gt.front_recovery({n: v['mAP_inherited'] for n, v in variants.items()},
                                  {a: r['gflops'] for a, r in rows.items() if r.get('gflops')}, dv)
        if front:
            out['front_recovery'] = front
        out.update(gt.record_fields(choices))
        if 'search' in state and self.scratch_fit_rows:
            stage = self.stage_cost(self.scratch_fit_rows, out['supernet_seconds'], state)
            out['modular_stage'] = dict(stage, scratch_fit_from=self.scratch_fit_from)
        elif 'search' in state and len(rows) >= 2:  # the price fit needs two trainings
            out['modular_stage'] = self.stage_cost(rows, out['supernet_seconds'], state)
        atomic_write_json(self.work_dir / 'rank_fidelity.json', out, indent=1)
        return out

    def supernet_seconds(self, variant: str, vstate: dict) -> float:
        """A variant's supernet training time: from its logs if this machine has them, else
        as its state stored it when it finished (or restored from a record). A recipe that
        scores with another variant's supernet counts that one's, plus its few-shot parts."""
        of = (vstate.get('recipe') or {}).get('supernet_of')
        if of and of != variant:
            other = JsonStore(self.work_dir / VARIANT.format(of)).read()
            return self.supernet_seconds(of, other) + sum((vstate.get('parts_seconds') or {}).values())
        return logged_train_seconds(self.supernet_dir(variant)) or vstate.get('supernet_seconds') or 0.0

    def noise_summary(self, rows: dict, state: dict) -> dict:
        """Seed-to-seed spread of one subnet's from-scratch mAP, and the pairs of ranked
        subnets whose mAPs differ by less than it (their order is within training noise)."""
        maps = list(state['noise']['mAP'].values())
        spread = max(maps) - min(maps)
        vals = sorted(r['mAP_scratch'] for r in rows.values())
        pairs = [(a, b) for i, a in enumerate(vals) for b in vals[i + 1:]]
        return dict(arch=state['noise']['arch'], mAP_by_seed=state['noise']['mAP'],
                    std=statistics.stdev(maps), spread=spread, pairs=len(pairs),
                    pairs_within_spread=sum(b - a < spread for a, b in pairs))

    def stage_cost(self, rows: dict, supernet_seconds: float, state: dict) -> dict:
        """The modular stage (supernet + search) against training every searched subnet
        from scratch, each priced by the fit of measured from-scratch times on GFLOPs."""
        a, b, r2 = linear_fit([r['gflops'] for r in rows.values()],
                              [r['scratch_seconds'] for r in rows.values()])
        search = state['search']
        # Summed over the searched subnets, a + b * GFLOPs is n * a + b * (their GFLOPs sum).
        total = search['gflops_sum']
        every = search['subnets'] * a + b * total
        stage = supernet_seconds + state['search_seconds']
        return dict(searched_subnets=search['subnets'], searched_gflops_sum=total,
                    finalists=search.get('finalists'),
                    search_seconds=state['search_seconds'],
                    search_eval_seconds=search['eval_seconds'], supernet_seconds=supernet_seconds,
                    search_overhead_seconds=state['search_seconds'] - search['eval_seconds'],
                    scoring=search.get('scoring'),
                    stage_seconds=stage, scratch_fit=dict(seconds_at_0=a, seconds_per_gflop=b, r2=r2),
                    every_searched_from_scratch_seconds=every, every_searched_over_stage=every / stage)



def scratch_fit_rows(path: str) -> dict:
    """``{arch: dict(gflops, scratch_seconds)}`` of the subnets an earlier cost breakdown
    (``--cost-json``) trained from scratch.

    Raises:
        SystemExit: the file is missing, or holds fewer than two timed trainings.
    """
    try:
        trained = json.loads(Path(path).read_text())['subnets_trained_from_scratch']
    except (OSError, ValueError, KeyError) as e:
        raise SystemExit(f'--scratch-fit-from {path}: not a cost breakdown written by --cost-json '
                         f'({e})') from None
    rows = {a: dict(gflops=r['gflops'], scratch_seconds=r['seconds'])
            for a, r in trained.items() if r.get('seconds')}
    if len(rows) < 2:
        raise SystemExit(f'--scratch-fit-from {path}: {len(rows)} timed from-scratch trainings; the price '
                         f'fit needs two')
    return rows


def cost_breakdown(summary: dict, command: str, scratch_fit_from: Optional[str] = None) -> Optional[dict]:
    """The modular stage's cost breakdown of a summary, self-describing (``--cost-json``).

    Args:
        summary: :meth:`RankFidelity.run`'s (or ``summary``'s) result.
        command: the command line that produced it.
        scratch_fit_from: the earlier cost breakdown whose trainings priced training from
            scratch (``--scratch-fit-from``), if any.

    Returns:
        The stage's costs with the command, config, the from-scratch schedule and the
        subnets that priced it, the space and the versions; None if the summary has no
        stage cost (no timed search).
    """
    if 'modular_stage' not in summary:
        return None
    if scratch_fit_from:  # the trainings priced, as that run measured them
        trained = json.loads(Path(scratch_fit_from).read_text())
        schedule, trained = trained.get('scratch_schedule'), trained['subnets_trained_from_scratch']
    else:
        schedule = summary['scratch_schedule']
        trained = {a: dict(gflops=r['gflops'], seconds=r.get('scratch_seconds'))
                   for a, r in summary['subnets'].items()}
    return dict(summary['modular_stage'], command=command, config=summary['config'],
                scratch_schedule=schedule, subnets_trained_from_scratch=trained, space=summary['space'],
                versions=summary['versions'])
