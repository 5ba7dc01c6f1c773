"""Evolutionary search over the subnets of a trained supernet (SM-NAS stage 2, our way).

The same engine as the structural stage (:class:`~smnas.search.evolution.EvolutionarySearch`):
NSGA-II ranks subnets by a score with inherited weights (the val loss by default, or the
val bbox mAP) and minimises FLOPs of the whole detector at the search input size. FLOPs
come from a per-layer table (:class:`supernet.flops.FlopsTable`) before a subnet is
evaluated, so subnets outside the FLOPs range are never evaluated; a range that
excludes every subnet is refused before any evaluation.

Evaluation runs in this process on one loaded supernet; more workers are more
processes running the same command against the same storage.
"""
import contextlib
import functools
import os
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple, Union

import optuna
from mmengine.config import Config

from ..records import TrialResult
from ..utils import atomic_write_text, file_lock
from .evolution import ENGINE_DEFAULTS, EvolutionarySearch, SkipArchitecture
from .pareto import pareto_front
from .study import arch_outcomes
from .trial import TrialFailed, read_stored, write_failure, write_result

#: the inherited mAP's fields of a subnet's result
MAP_KEYS = ('mAP', 'mAP_50', 'mAP_se', 'mAP_ci95')

SUBNET_DEFAULTS = dict(
    ENGINE_DEFAULTS,
    n_trials=50,
    population_size=16,
    study_name='subnet',
    input_size=None,          # (w, h) of the FLOPs count; default: the val pipeline's Resize scale
    flops_range=None,         # (lo, hi) in GFLOPs; None: no limit
    max_trials_factor=20,     # skipped proposals are cheap
    val_batch_size=8,         # val images per forward when scoring (None: the config's val_dataloader)
    val_cache_mb=1024,        # val batches kept in memory after the first subnet (0: reload each time)
    # The scoring forward's precision: 'fp32', or 'bf16'/'fp16' under torch.autocast. bf16 is
    # worth it on CPUs with AMX (and on GPUs); benchmarks/README.md measures its speed and
    # how it moves scores and ranks against fp32.
    precision='fp32',
    # What a subnet is ranked by: 'mAP' (val bbox mAP with inherited weights), 'val_loss'
    # (the detector's training loss on the val images with inherited weights, lower is
    # better; `map_of` says which subnets get an mAP too) or 'box_blend' (both, one pass:
    # `blend_calibration` below). Against 24 subnets trained from
    # scratch (benchmarks/README.md, "Every recipe against the 7-seed truth"), the configs'
    # recipe (distillation of the max member's outputs) ranked at Kendall tau 0.73 by the
    # mAP, 0.66 by the loss (the difference within noise; each put the min subnet 0-3
    # places from its from-scratch rank, within its noise); without distillation the loss
    # ranked a little better (0.65 against 0.56, within noise). The loss alone costs about 0.9x the mAP alone.
    score='mAP',
    # The terms of the detector's loss that the val loss sums, names or shell-style patterns
    # (['loss_bbox']: the RoI head's box regression alone; ['*loss_bbox'] also every cascade
    # stage's, 's0.loss_bbox'..., not the RPN's); None: all of them.
    # Only with score='val_loss'. On the 24-subnet rank benchmark the box loss alone ranked
    # at or above the mAP on four supernets of five (the fifth 0.022 below), +0.061 [-0.02,
    # 0.15] pooled (within noise), the RPN's classification loss far below it
    # (benchmarks/README.md, "ranked by one term of the val loss"): not the default until a
    # pooled interval leaves out 0.
    val_loss_terms=None,
    # score='box_blend' ranks by mAP - scale * (the val loss of `val_loss_terms`, by default
    # every box regression term but the RPN's: '*loss_bbox'), the scale the ratio of the two
    # scores' standard deviations over `blend_calibration` subnets spread over the FLOPs range,
    # scored before the search (they are the spread first generation's first, so with
    # init='spread' they cost nothing extra) and kept in the work dir's box_blend.json.
    # On the 24-subnet rank benchmark it ranked like the mAP (pooled over the default recipe's four
    # seeds +0.002 [-0.05, +0.05]; its written prediction for the fourth failed): not the default
    # (benchmarks/README.md, "A blend of the mAP and the box loss").
    blend_calibration=8,
    # A short fine-tune of each subnet alone before it is scored: `finetune_iters` SGD steps on
    # the training images (seeded alike for every subnet) at `finetune_lr` (None: a tenth of
    # the config's lr); the inherited weights are restored after each. On the 24-subnet rank
    # benchmark 50 steps on the configs' recipe lifted the mAP's Kendall tau from 0.730 to
    # 0.773 [0.63, 0.88] (within noise; 190 of 195 resolved pairs in training's order) at 1.53x
    # the scoring time per subnet (benchmarks/README.md, "ft50_distill"); on the recipe's third
    # seed it lowered the tau (0.812 to 0.739): pooled over the two seeds -0.014 [-0.11, +0.07],
    # no gain beyond a seed's draw, so it stays off. 0: none.
    finetune_iters=0,
    finetune_lr=None,
    # When the search ranks by the val loss, which subnets get an inherited mAP too:
    # 'front', only the final Pareto front's (scored once the search ends, for the report
    # and the finalists), every other subnet by its loss alone; or 'every' subnet, in the
    # loss's pass (the backbone and neck run once for both; the mAP of each logged as it
    # comes). On BCCD (bf16, 3 subnets) the loss alone took 0.90x the mAP alone and the one
    # pass 1.38x (benchmarks/README.md, "Ranking by val loss: cost").
    map_of='front',
    # Resamples of the val images for each inherited mAP's standard error (mAP_se; 0: none).
    # Each re-accumulates precision over the drawn images: about 0.12 s at 1000 val images,
    # 0.01 s at 87 (benchmarks/README.md, "The inherited mAP's noise"). 50 resamples give
    # the SE to about 10% of itself; 0 saves their time.
    bootstrap=50,
    # Successive halving: score a proposal on a fixed subset of the val images first and on
    # all of them only if it could reach the front (see SubnetSearch.evaluate). Off by
    # default: on the quickstart's supernet every subnet came within the margin of the front,
    # so screening scored 125% of the images (benchmarks/README.md, subnet scoring).
    screen_fraction=None,     # e.g. 0.25 of the val images; None or 0: every subnet on all of them
    screen_min_images=50,     # fewer val images than this in the subset: no screening
    screen_margin=0.01,       # the least a subset score is given for its noise (the score's units)
    # The cost minimised: 'flops' (the paper's) or 'latency': batch-1 latency on this device,
    # predicted by a model fitted once to `latency_fit` measured subnets (latency_model.json),
    # spread over the space's FLOPs and timed in `latency_rounds` interleaved rounds of
    # `latency_repeats` runs each (a slow spell of the machine then hits all of them alike).
    # 16 rounds: on the 2-core VM the timings' even-vs-odd-round agreement rose from
    # 0.76-0.83 (8 rounds) to 0.90-0.99 (benchmarks/README.md). 16 x 16 x 3 = 768 timed
    # forwards once per search: about 40 s at 192x128 there, more at larger inputs on a CPU.
    objective='flops',
    latency_fit=16,
    latency_rounds=16,
    latency_repeats=3,
)


def val_input_size(cfg: Config) -> Tuple[int, int]:
    """The (w, h) scale of the first ``Resize`` of the val pipeline."""
    from ..structural.builder import loader_pipeline

    for t in loader_pipeline(cfg, 'val_dataloader'):
        if t.get('type') == 'Resize':
            return tuple(int(v) for v in t['scale'])
    raise ValueError('the val pipeline has no Resize; set subnet_search.input_size = (w, h)')


class SubnetSearch(EvolutionarySearch):
    """One worker of a subnet search.

    Args:
        cfg: the supernet's config; ``subnet_search`` in it overrides
            :data:`SUBNET_DEFAULTS`.
        checkpoint: the trained supernet (``tools/train_supernet.py``), or a few-shot
            supernet: the checkpoints of its parts, one subnet in exactly one
            (:class:`~smnas.modular.parts.SupernetParts`); each subnet is scored with its
            part's weights. Or an ensemble, a list of those (one per supernet, e.g. one
            recipe trained with several seeds): each subnet's scores are the mean of its
            scores with each supernet's weights
            (:class:`~smnas.modular.ensemble.SupernetEnsemble`), each one stored.
        work_dir: study, per-subnet results, TensorBoard events and report.
        storage: Optuna storage URL (default: sqlite in the work dir).
        flops_range: (lo, hi) GFLOPs, overriding the config.
        results_dir: per-subnet result folders (default ``<work_dir>/trials``); searches
            that share one over the same checkpoint reuse each other's scores.

    Raises:
        smnas.modular.export.NotASupernetCheckpoint: a checkpoint that is not a supernet
            of this config's space.
        smnas.modular.parts.InvalidParts: several checkpoints that do not split the space;
            a checkpoint in two supernets of an ensemble.
        ValueError: a FLOPs range that excludes every subnet; an unknown ``score``.
    """
    label = 'subnet'
    cost_key = 'flops'
    cost_name = 'gflops'
    cost_unit = 'GFLOPs'
    cost_scale = 1e9
    result_keys = ('mAP', 'mAP_50', 'mAP_se', 'flops', 'latency_ms', 'eval_seconds', 'mAP_screen',
                   'eval_images', 'val_loss', 'val_loss_screen', 'box_blend')
    #: subnet_search.score -> its sign in the study (which maximises): losses are minimised
    SCORES = {'mAP': 1, 'val_loss': -1, 'box_blend': 1}
    #: the val loss terms of score='box_blend' unless ``val_loss_terms`` names others
    BLEND_TERMS = ['*loss_bbox']

    def __init__(self, cfg: Config, checkpoint: Union[str, Sequence[str]], work_dir: str,
                 storage: Optional[str] = None,
                 flops_range: Optional[Sequence[float]] = None, results_dir: Optional[str] = None):
        from supernet.flops import FlopsTable
        from supernet.space import ModularSpace

        from ..evaluation.inherited import InheritedEvaluator
        from ..modular.ensemble import SupernetEnsemble, as_checkpoint_groups

        opts = dict(SUBNET_DEFAULTS, **dict(cfg.get('subnet_search', {})))
        if opts['score'] not in self.SCORES:
            raise ValueError(f"subnet_search.score must be one of {', '.join(map(repr, self.SCORES))}, "
                             f"not {opts['score']!r}")
        self.score_key, self.score_sign = opts['score'], self.SCORES[opts['score']]
        loss_terms = opts['val_loss_terms']
        if loss_terms is not None and self.score_key == 'mAP':
            raise ValueError(f"subnet_search.val_loss_terms says what the val loss sums: it needs "
                             f"score='val_loss' or 'box_blend', not {self.score_key!r}")
        if self.score_key == 'box_blend':
            if loss_terms is None:
                loss_terms = self.BLEND_TERMS
            if int(opts['blend_calibration']) < 2:
                raise ValueError(f"subnet_search.blend_calibration must be 2 or more subnets (the "
                                 f"blend's scale is a ratio of spreads), not {opts['blend_calibration']}")
        if opts['map_of'] not in ('front', 'every'):
            raise ValueError(f"subnet_search.map_of must be 'front' or 'every', not {opts['map_of']!r}")
        # the mAP of a subnet ranked by its loss alone waits for the front (see score_front)
        self.defer_map = self.score_key == 'val_loss' and opts['map_of'] == 'front'
        #: the box loss's weight in score='box_blend' (:meth:`calibrate_blend`)
        self.blend_scale: Optional[float] = None
        if flops_range is not None:
            opts['flops_range'] = [float(v) for v in flops_range]
        super().__init__(work_dir, opts, storage, workers=1, study_name=opts['study_name'],
                         results_dir=results_dir)
        self.cfg = cfg
        groups = [[os.path.abspath(p) for p in g] for g in as_checkpoint_groups(checkpoint)]
        #: the supernet (or several: an ensemble) whose weights score the subnets
        self.supernets = SupernetEnsemble.from_checkpoints(groups,
                                                           ModularSpace.from_dict(dict(cfg.model.space)))
        #: the checkpoint (one supernet), every part's (few-shot), or one of those per supernet
        self.checkpoint = self.supernets.checkpoints()
        # The effective config (overrides included), so that the search can be reopened.
        self.config_path = self.work_dir / 'supernet_config.py'
        atomic_write_text(self.config_path, cfg.pretty_text)
        self.evaluator = InheritedEvaluator(cfg, self.supernets.first.paths[0], str(self.work_dir / 'eval'),
                                            batch_size=opts['val_batch_size'], cache_mb=opts['val_cache_mb'],
                                            precision=opts['precision'], bootstrap=opts['bootstrap'],
                                            loss_terms=loss_terms)
        self.screen_images = self._screen_images(opts)
        self.space = self.evaluator.space
        if self.evaluator.loss_terms is not None:
            # a term the detector's loss lacks would fail every subnet: said now, on one image
            self.evaluator.val_loss(self.space.min_subnet(), images=1)
        self.target = min(self.target, self.space.count())
        self.input_size = tuple(opts['input_size'] or val_input_size(cfg))
        self.table = FlopsTable(self.evaluator.model, self.input_size)
        self.span = (self.table.flops(self.space.min_subnet()), self.table.flops(self.space.max_subnet()))
        self.range = self._check_range(opts['flops_range'])
        self._generations = {}
        self.latency = None
        if opts['objective'] == 'latency':
            self.latency = self._latency_model()
            self.cost_key = self.cost_name = 'latency_ms'
            self.cost_unit, self.cost_scale = 'ms', 1.0
        elif opts['objective'] != 'flops':
            raise ValueError(f"subnet_search.objective must be 'flops' or 'latency', "
                             f"not {opts['objective']!r}")

    def _latency_model(self):
        """The latency model of this device and input size: stored in the work dir, or
        fitted now to measured subnets (min, max and seeded draws spread over the FLOPs)."""
        import json
        import random

        from ..evaluation.latency_model import LatencyModel, measure_subnets_ms
        from .pareto import spread_subnets
        from ..utils import atomic_write_json

        path = self.work_dir / 'latency_model.json'
        if path.is_file():
            return LatencyModel.from_dict(self.table, json.loads(path.read_text()))
        rng = random.Random(int(self.opts['seed']))
        n = int(self.opts['latency_fit'])
        subs = spread_subnets(self.space, self.table.flops, n, rng)
        arch = self.evaluator.model.architecture
        print(f'[subnet] measuring {len(subs)} subnets for the latency model', flush=True)
        runs = measure_subnets_ms(self.evaluator.model.architecture_cfg, arch.state_dict(), subs,
                                  self.input_size, rounds=int(self.opts['latency_rounds']),
                                  repeats=int(self.opts['latency_repeats']), seed=int(self.opts['seed']))
        model = LatencyModel(self.table).fit(subs, lambda s: min(runs[s]))
        atomic_write_json(path, model.to_dict(), indent=1)
        return model

    def _screen_images(self, opts: dict) -> Optional[int]:
        """Images of the screening subset, or None (no screening)."""
        frac, total = opts.get('screen_fraction') or 0, self.evaluator.num_images
        n = int(total * float(frac))
        if not 0 < frac < 1 or n < int(opts.get('screen_min_images') or 1):
            return None
        return n

    def _check_range(self, rng) -> Tuple[float, float]:
        lo, hi = self.span
        if rng is None:
            return lo, hi
        a, b = (float(v) * 1e9 for v in rng)
        if a > b:
            raise ValueError(f'FLOPs range {rng[0]}-{rng[1]} GFLOPs is empty (low > high)')
        if b < lo or a > hi:
            raise ValueError(f'FLOPs range {rng[0]}-{rng[1]} GFLOPs excludes every subnet: at '
                             f'{self.input_size[0]}x{self.input_size[1]} the subnets of this space '
                             f'span {lo / 1e9:.2f}-{hi / 1e9:.2f} GFLOPs (min {self.space.min_subnet()}, '
                             f'max {self.space.max_subnet()})')
        return a, b

    def initial_population(self, n: int) -> List[Dict[str, object]]:
        """``n`` subnets inside the FLOPs range at evenly spaced FLOPs quantiles of a seeded
        sample, the range's cheapest and costliest included; ends first, then ever finer
        between them, so that a search stopped early has covered the range."""
        from supernet.space import Subnet

        return [self.space.picks(Subnet.parse(s)) for s in self.spread(n)]

    def spread(self, n: int) -> List[str]:
        """The subnets of :meth:`initial_population`, as strings, in its order.

        Args:
            n: how many.

        Returns:
            Up to ``n`` subnets, the FLOPs range's ends first.
        """
        import random

        from .pareto import coarse_to_fine, spread_subnets

        lo, hi = self.range
        flops = functools.lru_cache(maxsize=None)(self.table.flops)  # the range and the spread price alike
        picks = spread_subnets(self.space, flops, n, random.Random(int(self.opts['seed'])),
                               keep=lambda s: lo <= flops(s) <= hi)
        return [str(s) for s in coarse_to_fine(picks)]

    def calibrate_blend(self) -> Optional[float]:
        """The box loss's weight in ``score='box_blend'``: the ratio of the mAP's and the
        loss's standard deviations over the first ``blend_calibration`` subnets of
        :meth:`spread` (the first generation's), each scored on every val image and its
        result stored with its blend, so that its trial reuses it. Kept in
        ``box_blend.json`` (the subnets' scores with it); a resumed search, or another
        worker on the same work dir, reads it back.

        Returns:
            The scale, or None when the search ranks by another score.

        Raises:
            RuntimeError: fewer than two of the subnets could be scored.
        """
        import json

        from ..evaluation.blend import box_blend_scale
        from ..utils import atomic_write_json

        if self.score_key != 'box_blend':
            return None
        path = self.work_dir / 'box_blend.json'
        with file_lock(self.work_dir / 'box_blend.lock'):
            if not path.is_file():
                n = int(self.opts['blend_calibration'])
                archs = self.spread(max(int(self.opts['population_size']), n))[:n]
                scored = {}
                for i, arch in enumerate(archs):
                    stored = read_stored(self.results_dir / arch) or {}
                    if stored.get('status') == 'failed' and not self.opts['retry_failed']:
                        print(f'[subnet] blend scale {i + 1}/{len(archs)}: {arch} failed before: '
                              f'{stored.get("error")}', flush=True)
                        continue
                    if stored.get('status') != 'ok' or stored.get('val_loss') is None:
                        try:
                            stored = self.evaluate(arch, self.results_dir / arch).to_dict()
                        except TrialFailed as e:
                            print(f'[subnet] blend scale {i + 1}/{len(archs)}: {arch} failed: {e}',
                                  flush=True)
                            continue
                    scored[arch] = stored
                    print(f'[subnet] blend scale {i + 1}/{len(archs)}: {arch} inherited mAP '
                          f'{stored["mAP"]:.4f}, loss {stored["val_loss"]:.4f}', flush=True)
                if len(scored) < 2:
                    raise RuntimeError(f'the box blend\'s scale needs two or more of the {len(archs)} '
                                       f'subnets spread over the FLOPs range scored; {len(scored)} were '
                                       f'(failures in {self.results_dir}/<subnet>/)')
                scale = box_blend_scale([r['mAP'] for r in scored.values()],
                                        [r['val_loss'] for r in scored.values()])
                atomic_write_json(path, dict(scale=scale, loss_terms=self.evaluator.loss_terms,
                                             subnets={a: dict(mAP=r['mAP'], val_loss=r['val_loss'])
                                                      for a, r in scored.items()}), indent=1)
            self.blend_scale = float(json.loads(path.read_text())['scale'])
            for arch in json.loads(path.read_text())['subnets']:
                stored = read_stored(self.results_dir / arch)
                if stored and stored.get('status') == 'ok' and stored.get('box_blend') is None:
                    write_result(self.results_dir / arch,
                                 TrialResult.from_dict(self._with_blend(stored)))
        print(f'[subnet] box blend: mAP - {self.blend_scale:.4g} x {"+".join(self.evaluator.loss_terms)}',
              flush=True)
        return self.blend_scale

    def _with_blend(self, metrics: dict) -> dict:
        # the blend of a search that ranks by it, once its scale is known
        if self.score_key != 'box_blend' or self.blend_scale is None:
            return metrics
        out = dict(metrics, box_blend=metrics['mAP'] - self.blend_scale * metrics['val_loss'])
        if metrics.get('member_scores'):  # an ensemble: each supernet's blend beside its scores
            out['member_scores'] = [self._with_blend(m) for m in metrics['member_scores']]
        return out

    def meta(self) -> dict:
        # a fine-tune before scoring, few-shot parts' weights, or an ensemble's mean change
        # every score: a study scored otherwise is not resumed
        iters = int(self.opts['finetune_iters'])
        scoring = dict(finetune_iters=iters, finetune_lr=self.opts['finetune_lr']) if iters else {}
        if self.supernets.few_shot is not None:
            scoring['few_shot'] = self.supernets.few_shot
        if len(self.supernets.members) > 1:
            scoring['ensemble'] = len(self.supernets.members)
        if self.evaluator.loss_terms is not None:  # the val loss of some terms only
            scoring['val_loss_terms'] = self.evaluator.loss_terms
        if self.blend_scale is not None:
            scoring['box_blend_scale'] = self.blend_scale
        return dict(space=self.space.to_dict(), space_count=self.space.count(),
                    objective=self.opts['objective'], score=self.score_key, scoring=scoring or None,
                    latency_model=None if self.latency is None else self.latency.to_dict(),
                    checkpoint=self.checkpoint, input_size=list(self.input_size),
                    flops_span_g=[v / 1e9 for v in self.span],
                    flops_range_g=[v / 1e9 for v in self.range],
                    val_images=self.evaluator.num_images, screen_images=self.screen_images,
                    search={k: v for k, v in self.opts.items()}, config=str(self.config_path.resolve()))

    def format_cost(self, cost: float) -> str:
        """A cost as the console shows it: milliseconds (latency model) or GFLOPs."""
        return f'{cost:.1f} ms' if self.latency is not None else f'{cost / 1e9:.2f} GFLOPs'

    def propose(self, trial: optuna.Trial) -> str:
        """Suggest base, each stage's blocks, the expansion ratio (inverted residuals),
        neck and head; skip it outside the FLOPs range."""
        s = self.space
        sub = s.compose({name: trial.suggest_categorical(name, choices) for name, choices in s.dimensions()})
        flops = self.table.flops(sub)
        trial.set_user_attr('flops', flops)
        if self.latency is not None:
            trial.set_user_attr('latency_ms', self.latency.predict(sub))
        lo, hi = self.range
        if not lo <= flops <= hi:
            raise SkipArchitecture(f'{sub}: {flops / 1e9:.2f} GFLOPs is outside '
                                   f'{lo / 1e9:.2f}-{hi / 1e9:.2f}')
        return str(sub)

    def screen_bar(self, flops: float) -> Tuple[float, float]:
        """(best full-set score of an evaluated subnet with at most ``flops``, margin), in
        the study's values (a loss negated).

        A subnet whose subset score plus the margin stays below the bar is dominated by
        that cheaper subnet even if its full score were as high as that: it cannot reach
        the front, and is not scored on every image. The margin is the largest gap seen
        so far between a subnet's subset and full scores, at least ``screen_margin``.
        """
        bar, gap = float('-inf'), float(self.opts.get('screen_margin') or 0.0)
        everything = self.evaluator.num_images
        for o in (arch_outcomes(self.study).values() if self.study is not None else ()):
            attrs = o.get('attrs', {})
            if o['state'] != 'complete' or attrs.get('eval_images', everything) != everything:
                continue  # a screened subnet's value is a subset score: no bar
            if o['values'][1] <= flops:
                bar = max(bar, o['values'][0])
            if attrs.get(f'{self.score_key}_screen') is not None:
                gap = max(gap, abs(self.score_sign * attrs[f'{self.score_key}_screen'] - o['values'][0]))
        return bar, gap

    def _scoring_weights(self, arch: str, supernet):
        """A block inside which the evaluator holds the weights ``arch`` is scored with: those
        it inherits from ``supernet`` (from its part's checkpoint in a few-shot supernet),
        fine-tuned first when ``finetune_iters`` is set (seeded alike for every subnet)."""
        self.evaluator.use_checkpoint(supernet.checkpoint_of(arch))
        iters = int(self.opts['finetune_iters'])
        if not iters:
            return contextlib.nullcontext(0.0)
        return self.evaluator.finetuned(arch, iters, self.opts['finetune_lr'], seed=int(self.opts['seed']))

    @contextlib.contextmanager
    def _scorer(self, arch: str, measure):
        """A block that yields ``score(images=None)``: ``measure(images)`` of ``arch`` with
        its scoring weights. With an ensemble, the mean over its supernets
        (:func:`~smnas.modular.ensemble.mean_score`), each one's scores under
        ``member_scores``; with one supernet its weights (and their fine-tune) are set once
        for every call in the block."""
        from ..modular.ensemble import mean_score

        members = self.supernets.members
        if len(members) == 1:
            with self._scoring_weights(arch, members[0]):
                yield lambda images=None: measure(images)
            return

        def score(images=None):
            runs = []
            for supernet in members:
                with self._scoring_weights(arch, supernet):
                    runs.append(measure(images))
            return dict(mean_score(runs), member_scores=runs)
        yield score

    def _score(self, arch: str, images: Optional[int] = None) -> dict:
        """``arch``'s scores on ``images`` val images (None: all of them): its mAP and
        mAP@0.5, and its val loss when the search ranks by it; the loss alone when the
        mAP waits for the front (``map_of='front'``)."""
        # the samplers seeded alike for every subnet: each is charged on the same draws
        seed = int(self.opts['seed']) if self.score_key != 'mAP' else None
        if self.defer_map:
            return dict(val_loss=self.evaluator.val_loss(arch, images=images, seed=seed))
        return self.evaluator.evaluate(arch, images=images, loss_seed=seed)

    def evaluate(self, arch: str, result_dir: Path) -> TrialResult:
        """Val mAP (and val loss when the search ranks by it) with inherited weights; the
        result (or failure) is written to disk.

        With screening (successive halving over val images), the subnet is scored on
        the subset first and on every val image only if it could reach the front
        (:meth:`screen_bar`); a screened-out subnet keeps its subset score, which leaves
        it dominated.
        """
        import time

        result_dir.mkdir(parents=True, exist_ok=True)
        t0 = time.time()
        flops = self.table.flops(arch)
        screen, images = None, self.evaluator.num_images
        try:
            with self._scorer(arch, functools.partial(self._score, arch)) as score:
                # the blend's calibration scores every image: no scale yet to screen by
                if self.screen_images and (self.score_key != 'box_blend' or self.blend_scale is not None):
                    screen = self._with_blend(score(self.screen_images))
                    bar, margin = self.screen_bar(flops)
                    metrics = screen
                    images = self.screen_images
                    if self.score_sign * screen[self.score_key] + margin >= bar:
                        metrics, images = self._with_blend(score()), self.evaluator.num_images
                else:
                    metrics = self._with_blend(score())
        except Exception as e:  # one broken subnet must not end the search
            msg = f'{type(e).__name__}: {e}'
            write_failure(result_dir, arch, msg)
            raise TrialFailed(msg) from e
        latency = None if self.latency is None else self.latency.predict(arch)
        return write_result(result_dir, TrialResult(
            arch=arch, flops=flops, latency_ms=latency, eval_seconds=time.time() - t0,
            input_size=list(self.input_size),
            eval_images=images, mAP_screen=None if screen is None else screen.get('mAP'),
            val_loss_screen=None if screen is None else screen.get('val_loss'), **metrics))

    def on_trial_logged(self, vis, frozen, step: int, status: dict) -> None:
        """Per-generation best and mean score (generation = population-sized batches of
        evaluated subnets, in evaluation order), the mAP of a search that ranks by another
        score, and the FLOPs span of the front."""
        gen = (step - 1) // int(self.opts['population_size'])
        values = self._generations.setdefault(gen, [])
        values.append(frozen.values[0])
        key = self.score_key
        vis.add_scalar(f'generation/best_{key}', self.displayed_score(max(values)), step=gen)
        vis.add_scalar(f'generation/mean_{key}', self.displayed_score(sum(values) / len(values)), step=gen)
        if key != 'mAP' and frozen.user_attrs.get('mAP') is not None:
            vis.add_scalar('trial/mAP', frozen.user_attrs['mAP'], step=step)
        if status['front']:
            vis.add_scalar('front/gflops_min', status['front'][0][2] / 1e9, step=step)
            vis.add_scalar('front/gflops_max', status['front'][-1][2] / 1e9, step=step)

    def front(self, study) -> List[tuple]:
        """The search's Pareto front as (subnet, study value, cost), by cost."""
        return pareto_front([(a, o['values'][0], o['values'][1]) for a, o in arch_outcomes(study).items()
                             if o['state'] == 'complete'])

    def score_front(self, study) -> List[str]:
        """The inherited mAP of every subnet on the front that has none yet (a search that
        ranks by the val loss scores the mAP of the front's subnets only), on every val
        image, added to its ``result.json``. Workers sharing the results folder score each
        subnet once (a lock per subnet); a rerun scores only what is missing.

        Returns:
            The subnets scored now.
        """
        import time

        front = [arch for arch, _, _ in self.front(study)]
        scored = []
        for i, arch in enumerate(front):
            d = self.results_dir / arch
            with file_lock(d / 'map.lock'):
                stored = read_stored(d)
                if not stored or stored.get('status') != 'ok' or stored.get('mAP') is not None:
                    continue
                t0 = time.time()
                # the weights its loss was scored with
                with self._scorer(arch, lambda images, arch=arch: self.evaluator.evaluate(arch)) as score:
                    metrics = score()
                if 'member_scores' in metrics:  # each supernet's mAP beside its loss
                    metrics['member_scores'] = [dict(s, **m) for s, m in zip(stored['member_scores'],
                                                                                metrics['member_scores'])]
                write_result(d, TrialResult.from_dict(dict(stored, **metrics, map_seconds=time.time() - t0)))
            scored.append(arch)
            print(f'[subnet] front {i + 1}/{len(front)}: {arch} inherited mAP {metrics["mAP"]:.4f} '
                  f'({time.time() - t0:.0f}s)', flush=True)
        return scored

    def outcomes(self, study) -> Dict[str, dict]:
        """:func:`~smnas.search.study.arch_outcomes` with the mAP that the front's subnets
        got after their trial (:meth:`score_front`) added to their attrs from disk."""
        outcomes = arch_outcomes(study)
        for arch, o in outcomes.items():
            attrs = o.get('attrs', {})
            if o['state'] != 'complete' or attrs.get('mAP') is not None:
                continue
            stored = read_stored(self.results_dir / arch) or {}
            o['attrs'] = dict(attrs, **{k: stored[k] for k in MAP_KEYS if stored.get(k) is not None})
        return outcomes

    def run(self) -> optuna.Study:
        """Search the FLOPs range (see :meth:`EvolutionarySearch.run`), then score the front's
        mAP where scoring deferred it.

        Returns:
            The Optuna study, every trial stored.
        """
        (lo, hi), (a, b) = self.range, self.span
        w, h = self.input_size
        print(f'[subnet] {self.space.count()} subnets; GFLOPs at {w}x{h}: {a / 1e9:.2f}-{b / 1e9:.2f}, '
              f'searching {lo / 1e9:.2f}-{hi / 1e9:.2f}', flush=True)
        self.calibrate_blend()
        study = super().run()
        if self.defer_map:
            self.score_front(study)
        return study
