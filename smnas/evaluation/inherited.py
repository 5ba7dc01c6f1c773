"""Accuracy of subnets with the weights they inherit from a trained supernet.

A supernet is loaded once; each subnet is then one mutator call and one pass over
the validation set, in batches (a forward at batch 8 costs about a quarter of eight at
batch 1 on the CPU). GroupNorm has no running statistics, so, unlike BatchNorm
supernets, no subnet needs its statistics recalibrated before it is scored.

A fixed subset of the val images (evenly spaced, the same for every subnet) gives a
cheaper, noisier score: the subnet search screens proposals with it.
"""
import contextlib
import copy
import fnmatch
import os
from typing import Dict, List, Optional, Sequence, Tuple

from mmengine.config import Config


#: the forward's precision when scoring -> the autocast dtype (None: float32 throughout)
PRECISIONS = {'fp32': None, 'bf16': 'bfloat16', 'fp16': 'float16'}


def check_precision(precision: Optional[str]) -> str:
    """``precision`` if it is one of :data:`PRECISIONS` (None: ``'fp32'``).

    Raises:
        ValueError: any other value, with the ones accepted.
    """
    precision = precision or 'fp32'
    if precision not in PRECISIONS:
        raise ValueError(f'scoring precision {precision!r} is not one of {", ".join(PRECISIONS)}')
    return precision


def _search_config(cfg: Config, work_dir: str, batch_size: Optional[int] = None, lean: bool = True,
                   bootstrap: int = 0) -> Config:
    """The supernet config as an evaluation-only Runner config; a COCO bbox metric becomes
    :class:`~smnas.evaluation.ranking_metric.RankingCocoMetric` (the same mAP, without
    the cells a ranking does not read; with ``bootstrap`` resamples, its standard error).

    Raises:
        ValueError: ``bootstrap`` without a COCO bbox metric to give it.
    """
    from ..engine import with_run_checks

    cfg = copy.deepcopy(cfg)
    ev = cfg.get('val_evaluator')
    coco_bbox = isinstance(ev, dict) and ev.get('type') == 'CocoMetric' and ev.get('ann_file') and \
        ev.get('metric', 'bbox') in ('bbox', ['bbox']) and not ev.get('format_only')
    if bootstrap and not (lean and coco_bbox):
        raise ValueError(f'a bootstrap of the inherited mAP needs a COCO bbox val_evaluator with an '
                         f'ann_file and the lean metric, not {ev}')
    if lean and coco_bbox:
        cfg.val_evaluator = dict(ev, type='RankingCocoMetric')
        if bootstrap:
            cfg.val_evaluator['bootstrap'] = int(bootstrap)
    if batch_size:
        cfg.val_dataloader.batch_size = int(batch_size)
    cfg.work_dir = work_dir
    for key in ('train_dataloader', 'train_cfg', 'optim_wrapper', 'param_scheduler'):
        cfg[key] = None
    cfg.val_cfg = dict(type='ValLoop')
    cfg.load_from = None
    cfg.resume = False
    cfg.launcher = 'none'
    cfg.pop('model_wrapper_cfg', None)
    cfg.custom_hooks = [h for h in cfg.get('custom_hooks', []) if h.get('type') != 'SupernetMetaHook']
    with_run_checks(cfg)
    cfg.log_level = 'WARNING'  # the search prints its own progress
    return cfg


def check_loss_terms(terms) -> Optional[List[str]]:
    """``terms`` as a list of loss-term names or shell-style patterns (None: every term of
    the detector's loss).

    Raises:
        ValueError: an empty list, or anything but a name or a list of names.
    """
    if terms is None:
        return None
    if isinstance(terms, str):
        terms = [terms]
    terms = list(terms)
    if not terms or not all(isinstance(t, str) and t for t in terms):
        raise ValueError(f'the val loss terms must be a non-empty list of loss names such as '
                         f"['loss_bbox'] (or None: every term), not {terms!r}")
    return terms


def select_loss_terms(wanted: List[str], terms: Sequence[str]) -> List[str]:
    """The names among ``terms`` that ``wanted`` asks for, each of its entries a name or a
    shell-style pattern: ``'*loss_bbox'`` is the RoI head's box loss of a Faster R-CNN
    (``loss_bbox``) and every stage's of a cascade (``s0.loss_bbox``, ``s1.loss_bbox``...),
    not the RPN's (``loss_rpn_bbox``). One setting can then serve every head of a space.

    Args:
        wanted: names or patterns (:func:`check_loss_terms`).
        terms: the detector's loss terms.

    Returns:
        The matched names, in the order of ``terms``.

    Raises:
        ValueError: an entry of ``wanted`` that matches no term (the terms are listed).
    """
    unmatched = [w for w in wanted if not any(fnmatch.fnmatchcase(t, w) for t in terms)]
    if unmatched:
        raise ValueError(f'the val loss should sum {", ".join(unmatched)}, which this detector\'s loss '
                         f'does not have; its terms: {", ".join(sorted(terms))}')
    return [t for t in terms if any(fnmatch.fnmatchcase(t, w) for w in wanted)]


class InheritedEvaluator:
    """Validation bbox mAP of any subnet of one trained supernet.

    Args:
        cfg: the supernet's config (the one it was trained with).
        checkpoint: a checkpoint written by ``tools/train_supernet.py``.
        work_dir: where the evaluation Runner writes its logs.
        batch_size: val images per forward (None: the config's ``val_dataloader``'s).
        cache_mb: keep the val batches, loaded once, in memory when they fit in this many
            MiB: every subnet scores the same images, so only the first pays for decoding,
            resizing and collating them (0: never).
        lean_metric: score a COCO bbox metric with
            :class:`~smnas.evaluation.ranking_metric.RankingCocoMetric` (mmdet's mAP
            unrounded, without the cells nobody reads); False: mmdet's ``CocoMetric``.
        precision: the forward's precision when scoring: ``'fp32'``, or ``'bf16'`` /
            ``'fp16'``: the trunk under ``torch.autocast``, a two-stage head's RoI stage in
            float32 (:meth:`_autocast`). bf16 is fast on AMX / AVX512-BF16 CPUs and on
            GPUs; it can move a score slightly, so a search ranks every subnet with one
            setting (``benchmarks/README.md`` measures how far).
        bootstrap: resamples of the val images for each score's ``mAP_se`` (0: no
            standard error); needs ``lean_metric``.
        loss_terms: the terms of the detector's loss that the val loss sums, names or
            shell-style patterns (e.g. ``['loss_bbox']``: the RoI head's box regression
            alone; ``['*loss_bbox']`` also a cascade's every stage's); None: every term.
            Each term is reported in ``val_loss_terms`` either way.

    Raises:
        smnas.modular.export.NotASupernetCheckpoint: not a supernet checkpoint, or one of
            another space (both spaces are shown).
    """

    def __init__(self, cfg: Config, checkpoint: str, work_dir: str, batch_size: Optional[int] = None,
                 cache_mb: float = 1024, lean_metric: bool = True, precision: str = 'fp32',
                 bootstrap: int = 0, loss_terms: Optional[List[str]] = None):
        from mmengine.runner import Runner
        from supernet.engine import unwrap_model
        from supernet.space import ModularSpace

        from ..engine import load_local_checkpoint
        from ..modular.export import check_checkpoint_space, check_checkpoint_weights

        self.space = ModularSpace.from_dict(dict(cfg.model.space))
        ckpt = load_local_checkpoint(checkpoint, map_location='cpu')
        check_checkpoint_space(ckpt, self.space.to_dict(), checkpoint)
        self.checkpoint = checkpoint
        # mmengine's console output (its config dump, the loops' lines) and pycocotools'
        # tables go to a file: a search prints one line per subnet. mmengine's console
        # handler writes to the stdout it found when the runner's logger was made.
        os.makedirs(work_dir, exist_ok=True)
        self._console = open(os.path.join(work_dir, 'console.log'), 'a', buffering=1)  # line-buffered
        with contextlib.redirect_stdout(self._console):
            self.runner = Runner.from_cfg(_search_config(cfg, work_dir, batch_size, lean_metric, bootstrap))
            _ = self.runner.val_loop  # built now (it loads the COCO annotations), not at a first score
        self.model = unwrap_model(self.runner.model)
        check_checkpoint_weights(ckpt, self.model, checkpoint)
        self.precision = check_precision(precision)
        self.loss_terms = check_loss_terms(loss_terms)
        self.cache_mb = float(cache_mb or 0)
        self._train_cfg = cfg  # the training images and optimizer, for fine-tuning
        self._train_loader = None
        self._cached = {}  # id(loop) -> [collated batch], or None: too large
        self.runner.load_checkpoint(checkpoint, map_location='cpu')
        self._weights = {}  # checkpoint -> its state dict, once another was used (use_checkpoint)
        self.batch_size = self.runner.val_loop.dataloader.batch_size
        self._subsets = {}

    def use_checkpoint(self, checkpoint: str) -> None:
        """Score with the weights of ``checkpoint`` from now on: another checkpoint of this
        supernet, e.g. a few-shot part's (:mod:`smnas.modular.parts`). Each checkpoint is
        loaded and checked once and its weights kept in host memory, so that switching
        between parts costs a copy, not a load.

        Args:
            checkpoint: a checkpoint written by ``tools/train_supernet.py``.

        Raises:
            smnas.modular.export.NotASupernetCheckpoint: not a supernet of this space, or the
                weights of another detector.
        """
        from ..engine import load_local_checkpoint
        from ..modular.export import check_checkpoint_space, check_checkpoint_weights

        if checkpoint == self.checkpoint:
            return
        if self.checkpoint not in self._weights:  # the weights loaded at start, to come back to
            self._weights[self.checkpoint] = {k: v.detach().to('cpu', copy=True)
                                              for k, v in self.model.state_dict().items()}
        if checkpoint not in self._weights:
            ckpt = load_local_checkpoint(checkpoint, map_location='cpu')
            check_checkpoint_space(ckpt, self.space.to_dict(), checkpoint)
            check_checkpoint_weights(ckpt, self.model, checkpoint)
            self._weights[checkpoint] = ckpt.get('state_dict', ckpt)
        self.model.load_state_dict(self._weights[checkpoint])
        self.checkpoint = checkpoint

    @property
    def num_images(self) -> int:
        """Images of the val set."""
        return len(self.runner.val_loop.dataloader.dataset)

    def subset_indices(self, n: int) -> List[int]:
        """The ``n`` val images of the subset: evenly spaced over the val set."""
        total = self.num_images
        if not 1 <= n <= total:
            raise ValueError(f'a subset needs 1 to {total} images (the val set), not {n}')
        return sorted({i * total // n for i in range(n)})

    def _subset_loop(self, n: int):
        """A val loop over the ``n``-image subset, its COCO metric restricted to those
        images (otherwise every other image would count as missed)."""
        if n not in self._subsets:
            from mmengine.runner import ValLoop

            cfg = self.runner.cfg
            loader = copy.deepcopy(cfg.val_dataloader)
            loader['dataset']['indices'] = self.subset_indices(n)
            loop = ValLoop(self.runner, loader, self.runner.build_evaluator(copy.deepcopy(cfg.val_evaluator)))
            dataset = loop.dataloader.dataset
            ids = [dataset.get_data_info(i)['img_id'] for i in range(len(dataset))]
            for metric in loop.evaluator.metrics:
                if hasattr(metric, 'img_ids'):
                    metric.img_ids = ids
            self._subsets[n] = loop
        return self._subsets[n]

    def evaluate(self, subnet, images: Optional[int] = None,
                 loss_seed: Optional[int] = None) -> Dict[str, float]:
        """``dict(mAP=..., mAP_50=...)`` of ``subnet`` (string or Subnet) on the val set, with
        ``mAP_se`` when the evaluator bootstraps; 0 when it detects nothing above the score
        threshold.

        Args:
            subnet: the subnet.
            images: score on this many val images (:meth:`subset_indices`); None: all.
            loss_seed: also the ``val_loss`` (:meth:`val_loss` with this seed), in the same
                pass: the backbone and neck run once per batch for both scores; and
                ``val_loss_terms``, the mean of each of its terms (``loss_rpn_cls``,
                ``loss_cls``, ``loss_bbox``...: which part of the detector a subnet loses on).
        """
        from supernet.engine import bbox_scores

        full = images is None or images >= self.num_images
        with contextlib.redirect_stdout(self._console):
            loop = self.runner.val_loop if full else self._subset_loop(images)
            with self.model.mutator.use(subnet):
                batches = self._batches(loop)
                metrics, loss = self._run(loop, loop.dataloader if batches is None else batches, loss_seed)
        metrics = bbox_scores(metrics)
        return metrics if loss is None else dict(metrics, val_loss=loss[0], val_loss_terms=loss[1])

    @contextlib.contextmanager
    def _autocast(self):
        """The forward at :attr:`precision` (:data:`PRECISIONS`), on the model's device.

        In half precision the convolutional trunk (backbone, neck, RPN) runs under
        autocast on channels-last images, the layout oneDNN's and cuDNN's half-precision
        convolutions run fastest on, and a two-stage detector's RoI stage (RoI feature
        extraction and box head) in float32: on the 2-core VM (BCCD, batch 8) RoIAlign is
        slower in bf16 than in float32 and is the largest single cost of scoring there, and
        the box head's outputs then reach post-processing unrounded."""
        import torch

        from ..engine.precision import run_in_float32

        dtype = PRECISIONS[self.precision]
        if dtype is None:
            yield
            return

        def channels_last(module, args, out):
            if isinstance(out, dict) and torch.is_tensor(out.get('inputs')) and out['inputs'].dim() == 4:
                out['inputs'] = out['inputs'].contiguous(memory_format=torch.channels_last)
            return out

        device = next(self.model.parameters()).device.type
        handles = [self.model.data_preprocessor.register_forward_hook(channels_last)]
        roi_head = getattr(self.model.architecture, 'roi_head', None)
        if roi_head is not None:
            handles += run_in_float32(roi_head, device)
        try:
            with torch.autocast(device_type=device, dtype=getattr(torch, dtype)):
                yield
        finally:
            for h in handles:
                h.remove()

    def val_loss(self, subnet, images: Optional[int] = None, seed: int = 0) -> float:
        """The detector's training loss of ``subnet`` on the val images (no gradient): the
        mean over batches of the sum of its loss terms (of :attr:`loss_terms`, where
        set). A score that needs no score
        threshold or NMS and sees every anchor; the RPN's and R-CNN's samplers draw from a
        generator seeded by ``seed``, so every subnet is charged on the same draws. The
        forward runs at :attr:`precision`, on the val images as they are scored (no batch
        augmentation). :meth:`evaluate` computes it with the mAP in one pass.

        Args:
            subnet: the subnet.
            images: this many val images (:meth:`subset_indices`); None: all.
            seed: seed of the samplers.
        """
        import torch

        full = images is None or images >= self.num_images
        with contextlib.redirect_stdout(self._console):
            loop = self.runner.val_loop if full else self._subset_loop(images)
            batches = self._batches(loop)
            losses = []
            with self.model.mutator.use(subnet), torch.no_grad(), torch.random.fork_rng(devices=[]):
                self.model.eval()
                for i, batch in enumerate(batches if batches is not None else loop.dataloader):
                    with self._autocast():
                        losses.append(self._loss(self.model.data_preprocessor(batch, False), seed, i)[0])
        return sum(losses) / max(len(losses), 1)

    def _loss(self, data: dict, seed: int, index: int) -> Tuple[float, Dict[str, float]]:
        """The summed loss terms of one preprocessed batch, and each term (every logged key
        that names a loss), the samplers seeded by ``seed`` and the batch's ``index`` (a
        dataloader draws from the same generator)."""
        import torch

        torch.manual_seed(seed * 1_000_003 + index)
        losses = self.model.architecture.loss(data['inputs'], data['data_samples'])
        loss, logged = self.model.parse_losses(losses)
        # parse_losses sums every key that names a loss (a cascade's are 's0.loss_cls'...)
        terms = {k: float(v) for k, v in logged.items() if 'loss' in k and k != 'loss'}
        if self.loss_terms is None:
            return float(loss), terms
        return sum(terms[t] for t in select_loss_terms(self.loss_terms, list(terms))), terms

    @contextlib.contextmanager
    def finetuned(self, subnet, iters: int, lr: Optional[float] = None, seed: int = 0):
        """Inside the block, the supernet holds ``subnet``'s weights after ``iters`` SGD
        steps of that subnet alone on the training images; the inherited weights are
        restored after it, however it ends. A short fine-tune moves every subnet off the
        compromise the shared weights strike between subnets, before it is scored.

        Args:
            subnet: the subnet (its choices are active inside the block).
            iters: training steps (batches of the config's train loader, drawn with ``seed``).
            lr: learning rate (None: a tenth of the config's, the supernet schedule's
                first step down); the config's momentum, no weight decay.
            seed: seed of the batches and of the samplers.

        Yields:
            The seconds the fine-tune took.
        """
        import random
        import time

        import numpy as np
        import torch
        from mmengine.runner import Runner

        cfg = self._train_cfg
        opt = dict(cfg.optim_wrapper.optimizer)
        if opt.get('type', 'SGD') != 'SGD':
            raise ValueError(f'fine-tuning uses SGD; the config trains with {opt["type"]}')
        lr = float(opt['lr']) / 10 if lr is None else float(lr)
        saved = {k: v.detach().clone() for k, v in self.model.state_dict().items()}
        # the samplers draw from torch's generator, the augmentations from numpy's and Python's
        states = torch.random.get_rng_state(), np.random.get_state(), random.getstate()
        t0 = time.perf_counter()
        try:
            with self.model.mutator.use(subnet):
                if iters > 0:
                    torch.manual_seed(seed)
                    np.random.seed(seed)
                    random.seed(seed)
                    loader = Runner.build_dataloader(copy.deepcopy(cfg.train_dataloader), seed=seed)
                    params = [p for p in self.model.parameters() if p.requires_grad]
                    # no weight decay: over a few steps it only shrinks weights, and it would
                    # move the slices this subnet does not use
                    sgd = torch.optim.SGD(params, lr=lr, momentum=float(opt.get('momentum', 0)))
                    clip = (cfg.optim_wrapper.get('clip_grad') or {}).get('max_norm')
                    self.model.train()
                    done = 0
                    while done < iters:
                        for batch in loader:
                            data = self.model.data_preprocessor(batch, True)
                            losses = self.model.architecture.loss(data['inputs'], data['data_samples'])
                            loss, _ = self.model.parse_losses(losses)
                            sgd.zero_grad()
                            loss.backward()
                            if clip:
                                torch.nn.utils.clip_grad_norm_(params, float(clip))
                            sgd.step()
                            done += 1
                            if done >= iters:
                                break
                    self.model.eval()
                yield time.perf_counter() - t0
        finally:
            self.model.load_state_dict(saved)
            self.model.eval()
            torch.random.set_rng_state(states[0])
            np.random.set_state(states[1])
            random.setstate(states[2])

    def _batches(self, loop) -> Optional[list]:
        """The loop's batches as its dataloader yields them, kept after the first pass
        (None: they do not fit in ``cache_mb``, or caching is off)."""
        key = id(loop)
        if key not in self._cached:
            if self.cache_mb <= 0:
                self._cached[key] = None
                return None
            kept, size, limit = [], 0, self.cache_mb * 2 ** 20
            for batch in loop.dataloader:
                size += sum(t.numel() * t.element_size() for t in batch['inputs'])
                if size > limit:
                    kept = None
                    break
                kept.append(batch)
            self._cached[key] = kept
        return self._cached[key]

    def _run(self, loop, batches, loss_seed: Optional[int] = None) -> tuple:
        """What ``loop.run()`` computes (the model's predictions scored by the loop's
        evaluator) over ``batches`` (kept ones, or the loop's dataloader), with the loop's
        run-level hooks (the class-count check among them); per-iteration hooks only log.
        The forward runs at :attr:`precision`; predictions reach the metric in float32.

        Returns:
            (metrics, None without ``loss_seed``; with it, (the mean val loss with its
            samplers, {term: its mean})).
        """
        import torch

        self.runner.call_hook('before_val')
        self.runner.call_hook('before_val_epoch')
        self.model.eval()
        losses = []
        with torch.no_grad(), torch.random.fork_rng(devices=[]):
            for i, batch in enumerate(batches):
                with self._autocast():
                    if loss_seed is None:
                        samples = self.model.val_step(batch)
                    else:
                        # what val_step does, with the loss on the same inputs between
                        # the preprocessing and the prediction
                        data = self.model.data_preprocessor(batch, False)
                        with _features_once(self.model.architecture):
                            losses.append(self._loss(data, loss_seed, i))
                            samples = self.model(**data, mode='predict')
                if self.precision != 'fp32':
                    samples = [_float_predictions(s) for s in samples]
                loop.evaluator.process(data_samples=samples, data_batch=batch)
        metrics = loop.evaluator.evaluate(len(loop.dataloader.dataset))
        self.runner.call_hook('after_val_epoch', metrics=metrics)
        self.runner.call_hook('after_val')
        if loss_seed is None:
            return metrics, None
        n = max(len(losses), 1)
        terms = {k: sum(t.get(k, 0.0) for _, t in losses) / n for k in (losses[0][1] if losses else {})}
        return metrics, (sum(total for total, _ in losses) / n, terms)


@contextlib.contextmanager
def _features_once(detector):
    """Inside the block, ``detector.extract_feat`` of one input tensor runs once: the loss
    and the prediction of a batch share its backbone and neck features (mmdet's detectors
    extract them at the start of both ``loss`` and ``predict``)."""
    original = detector.extract_feat
    memo = []

    def extract_feat(inputs):
        if not memo or memo[0][0] is not inputs:
            memo[:] = [(inputs, original(inputs))]
        return memo[0][1]

    detector.extract_feat = extract_feat  # an instance attribute shadows the method
    try:
        yield
    finally:
        del detector.extract_feat


def _float_predictions(sample):
    """``sample`` with its predicted instances' half-precision tensors (boxes, scores)
    in float32, as the COCO metric reads them."""
    import torch

    inst = sample.get('pred_instances')
    if inst is not None:
        for key, value in list(inst.items()):
            if torch.is_tensor(value) and value.dtype in (torch.bfloat16, torch.float16):
                inst.set_field(value.float(), key)
    return sample
