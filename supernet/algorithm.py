"""Sandwich-rule training of a supernet detector (slimmable networks, BigNAS).

Per batch: the max subnet, the min subnet and ``k`` random subnets each run forward
and backward; gradients accumulate; one optimizer step follows. The extremes may be
left out (``extremes``): the min subnet, trained at every step, is otherwise scored
above its from-scratch rank with inherited weights; without both, each step trains
``k`` random members only (single-path uniform sampling, as SPOS). Optionally the
smaller members also learn from the max member (in-place distillation): its FPN
features, or its outputs, or both. Outputs are those of the dense head (the RPN's or
RetinaNet's classification as soft targets, and its box regression) and, in a two-stage
detector, of the RoI head: each student's RoI head is run on the max member's sampled
RoIs (every cascade stage's), so that teacher and student classify the same boxes.
Random members are drawn uniformly, or fairly (every choice of every dimension equally
often over each window of draws, as FairNAS's strict fairness), from generators seeded
by (seed, iteration), so every DDP rank trains the same subnets without communication,
and a resumed run draws what the uninterrupted one would have.
"""
import random
from collections import OrderedDict
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
import torch.distributed as dist
import torch.nn.functional as F
from mmdet.registry import MODELS
from mmengine.config import ConfigDict
from mmengine.logging import MessageHub
from mmengine.model import BaseModel
from mmengine.registry import MODEL_WRAPPERS
from torch import nn

from .build import expand_architecture
from .mutator import SubnetMutator
from .space import ModularSpace, Subnet


def part_space(space: ModularSpace, part: Optional[dict]) -> ModularSpace:
    """``space`` with the choices of ``part`` narrowed (e.g. ``dict(neck_channels=[256])``).

    Raises:
        ValueError: a key that is not a choice list of the space, or a choice outside it.
    """
    if not part:
        return space
    d = space.to_dict()
    for key, values in part.items():
        if key not in ('bases', 'neck_channels', 'head_channels', 'expansions') or key not in d:
            raise ValueError(f'a part narrows bases, neck_channels, head_channels or expansions, '
                             f'not {key!r}')
        outside = sorted(set(values) - set(d[key]))
        if not values or outside:
            raise ValueError(f'part {key}={list(values)}: {outside or "nothing"} is not among the '
                             f'choices {d[key]}')
        d[key] = [v for v in d[key] if v in set(values)]
    return ModularSpace.from_dict(d)


@MODELS.register_module()
class SandwichSupernet(BaseModel):
    """Wraps a supernet detector and trains it with the sandwich rule.

    Args:
        architecture: config of the supernet detector (searchable backbone/neck/heads),
            or the ``StructureSupernet`` shorthand
            (:func:`supernet.build.expand_architecture`).
        space: the modular space (dict form).
        num_random_subnets: ``k`` random members per batch besides the extremes.
        extremes: which of 'max' and 'min' are trained at every step (the sandwich
            rule: both). Leaving 'min' out stops the min subnet's over-training;
            leaving both out with ``sampling='fair'`` trains every choice equally often.
            Distillation needs 'max' (its teacher).
        distill: in-place distillation of the non-max members from the max one:
            False (none), True or 'features' (MSE to its FPN features; C4: its backbone's),
            'outputs' (its dense head's outputs: binary cross-entropy to its classification
            probabilities as soft targets, L1 to its box regression where its own box
            loss trains it; the RPN of a two-stage detector, the RetinaNet head of a
            one-stage one; and a two-stage detector's RoI head run on the max member's
            sampled RoIs: cross-entropy to its class distribution, L1 to its box deltas on
            the RoIs matched to an object, every cascade stage), or 'both'.
        distill_weight: weight of each distillation term.
        sampling: how the random members are drawn: 'uniform' (each independently) or
            'fair' (each dimension's choices in seeded permutations, so that every base,
            stage encoding, neck and head width is trained equally often: no choice is
            over-trained by chance).
        seed: seed of the random members.
        part: train one part of the space only (few-shot NAS: one supernet per part),
            e.g. ``dict(neck_channels=[256])``: the members (max, min, random) are drawn
            from the space with these choices narrowed; the modules keep the whole
            space's sizes, so a part starts from (``load_from``) and exports like the
            one-shot supernet. None: the whole space.
        average_members: backpropagate the mean of the members' losses (default)
            rather than their sum. The sum gives the fully shared weights ``2 + k``
            times the step of a model trained alone. Measured on the CPU quickstart
            (Faster R-CNN, 300 steps): with the sum, the unnormalized 2-fc box head of
            every wide-neck subnet died (one score for every RoI; max subnet mAP@0.5
            0.006, min 0.033); with the mean, max 0.081 and min 0.087, every probed
            subnet 0.055-0.087 (the max architecture trained alone: 0.110).
            'per_weight': each weight's gradient is the mean over the members that used
            it (a weight no member used keeps no gradient). The mean over all members
            gives a slice that only the max member uses a third of its gradient in a
            sandwich of three, so wide subnets learn slower than the min subnet whose
            weights every member trains; per weight, every slice learns at the rate
            of a model trained alone. A member's weights are those with a non-zero
            gradient from its loss (the sliced ops leave the rest at exactly zero).
        max_sampled: dimensions of the max member (:meth:`ModularSpace.dimensions`'
            names: ``neck``, ``head``, ``base``, ``stage1``...) drawn fairly at every step
            (each choice once per window of draws, seeded by the iteration) instead of at
            their widest. With distillation the max member is the teacher, and it trains
            the widest neck at every step: in such a supernet the widest neck is no longer
            the one that learns slowest, as it is from scratch (benchmarks/README.md, "What
            the order within one head width is made of"). ``('neck',)`` keeps the teacher's
            backbone and head at their widest and walks its neck through every width.
        init_cfg: mmengine init config.
    """

    def __init__(self, architecture: dict, space: dict, num_random_subnets: int = 2,
                 distill=False, distill_weight: float = 1.0, seed: int = 0,
                 average_members: Union[bool, str] = True, sampling: str = 'uniform',
                 part: Optional[dict] = None, extremes: Sequence[str] = ('max', 'min'),
                 max_sampled: Sequence[str] = (), init_cfg=None):
        super().__init__(data_preprocessor=dict(type='BaseDataPreprocessor'), init_cfg=init_cfg)
        self.space = ModularSpace.from_dict(dict(space))
        self.part = {k: list(v) for k, v in dict(part or {}).items()}
        #: the space the members are drawn from: the whole space, or the part trained
        self.sample_space = part_space(self.space, self.part)
        self.architecture_cfg = expand_architecture(architecture, self.space)
        self.architecture = MODELS.build(ConfigDict(self.architecture_cfg))
        # The detector's own preprocessor (normalisation, padding, batching).
        self.data_preprocessor = self.architecture.data_preprocessor
        self.mutator = SubnetMutator(self.architecture, self.space)
        self.num_random_subnets = int(num_random_subnets)
        modes = {False: (), None: (), True: ('features',), 'features': ('features',),
                 'outputs': ('outputs',), 'both': ('features', 'outputs')}
        if distill not in modes:
            raise ValueError(f"distill must be False, True, 'features', 'outputs' or 'both', got {distill!r}")
        self.distill = modes[distill]
        self.distill_weight = float(distill_weight)
        if sampling not in ('uniform', 'fair'):
            raise ValueError(f"sampling must be 'uniform' or 'fair', got {sampling!r}")
        self.sampling = sampling
        if isinstance(extremes, str) or not set(extremes) <= {'max', 'min'} or \
                len(set(extremes)) != len(extremes):
            raise ValueError(f"extremes must be a list of distinct 'max' and 'min', got {extremes!r}")
        self.extremes = tuple(e for e in ('max', 'min') if e in extremes)  # max first: the teacher
        if self.distill and 'max' not in self.extremes:
            raise ValueError(f"distill={distill!r} learns from the max member: extremes must hold 'max', "
                             f'got {list(extremes)}')
        if not self.extremes and self.num_random_subnets < 1:
            raise ValueError('no member to train: extremes is empty and num_random_subnets is 0')
        self.seed = int(seed)
        names = [n for n, _ in self.sample_space.dimensions()]
        if isinstance(max_sampled, str) or not set(max_sampled) <= set(names):
            raise ValueError(f'max_sampled must be a list of the space\'s dimensions {names}, '
                             f'got {max_sampled!r}')
        if max_sampled and 'max' not in self.extremes:
            raise ValueError(f"max_sampled={list(max_sampled)} draws the max member's choices: "
                             f"extremes must hold 'max', got {list(extremes)}")
        #: the max member's dimensions drawn fairly at every step (the rest at their widest)
        self.max_sampled = tuple(n for n in names if n in set(max_sampled))
        if average_members not in (True, False, 'per_weight'):
            raise ValueError(f"average_members must be True, False or 'per_weight', got {average_members!r}")
        self.average_members = average_members
        self._captured: Dict[str, tuple] = {}
        arch = self.architecture
        #: the RoI head's stages distilled (two-stage detectors, 'outputs' only)
        self._roi_stages: List[Tuple[nn.Module, nn.Module]] = []
        if 'outputs' in self.distill:
            dense = arch.rpn_head if hasattr(arch, 'rpn_head') else getattr(arch, 'bbox_head', None)
            if dense is None:
                raise ValueError("distill='outputs' needs a dense head (an RPN or a RetinaNet head)")
            if not isinstance(getattr(dense, 'loss_bbox', None), nn.Module):
                raise ValueError(f"distill='outputs' needs a dense head with a box loss module "
                                 f'(loss_bbox), got {type(dense).__name__}')
            dense.register_forward_hook(self._capture('outputs'))
            # which anchors the head's own box loss trains (its weights, one call per level)
            dense.register_forward_pre_hook(self._start_list('box_weights'))
            dense.loss_bbox.register_forward_hook(self._append_input('box_weights', 2))
            self._roi_stages = _roi_stages(getattr(arch, 'roi_head', None))
            for i, (extractor, head) in enumerate(self._roi_stages):
                # the RoIs of each stage's last call: the sampled ones of the loss
                extractor.register_forward_hook(self._capture_input(f'rois{i}', 1))
                head.register_forward_hook(self._capture(f'roi_outputs{i}'))
                # and their labels (background: the number of classes), which say whose box
                # deltas the head learns
                head.loss_cls.register_forward_hook(self._capture_input(f'roi_labels{i}', 1))
        if 'features' in self.distill or self._roi_stages:
            # the features the heads see: the neck's, or a C4 detector's backbone output
            (arch.neck if getattr(arch, 'with_neck', False) else arch.backbone).register_forward_hook(
                self._capture('features'))
        self.mutator.set_max()

    def _capture(self, key: str):
        def hook(module, inputs, output) -> None:
            self._captured[key] = output
        return hook

    def _capture_input(self, key: str, index: int):
        def hook(module, inputs, output) -> None:
            self._captured[key] = inputs[index]
        return hook

    def _start_list(self, key: str):
        def hook(module, inputs) -> None:
            self._captured[key] = []
        return hook

    def _append_input(self, key: str, index: int):
        def hook(module, inputs, output) -> None:
            self._captured.setdefault(key, []).append(inputs[index])
        return hook

    def _distill_losses(self, teacher: Dict[str, tuple]) -> Dict[str, torch.Tensor]:
        """A student's distillation terms against the max member's captured tensors."""
        out = {}
        w = self.distill_weight
        if 'features' in self.distill:
            s, t = self._captured['features'], teacher['features']
            out['loss_distill'] = w * sum(F.mse_loss(a, b[:, :a.size(1)]) for a, b in zip(s, t)) / len(t)
        if 'outputs' in teacher:
            (s_cls, s_reg), (t_cls, t_reg) = self._captured['outputs'][:2], teacher['outputs'][:2]
            out['loss_distill_cls'] = w * sum(
                F.binary_cross_entropy_with_logits(a, b.sigmoid()) for a, b in zip(s_cls, t_cls)) / len(t_cls)
            trained = teacher['box_weights']
            out['loss_distill_reg'] = w * sum(
                dense_box_distill(a, b, c) for a, b, c in zip(s_reg, t_reg, trained)) / len(t_reg)
        if self._roi_stages:
            out.update({k: w * v for k, v in self._roi_distill_losses(teacher).items()})
        return out

    def _roi_distill_losses(self, teacher: Dict[str, tuple]) -> Dict[str, torch.Tensor]:
        """The student's RoI head on the teacher's RoIs: its class distribution against
        the teacher's (cross-entropy with soft targets) and its box deltas (L1 on the RoIs
        the teacher's box loss trains, :func:`roi_box_distill`), averaged over the stages."""
        roi_head, feats = self.architecture.roi_head, self._captured['features']
        cls_terms, reg_terms = [], []
        for i in range(len(self._roi_stages)):
            rois, (t_cls, t_reg) = teacher[f'rois{i}'], teacher[f'roi_outputs{i}'][:2]
            # mmdet's cascade heads take the stage first
            args = (i, feats, rois) if isinstance(roi_head.bbox_head, nn.ModuleList) else (feats, rois)
            res = roi_head._bbox_forward(*args)
            s_cls, s_reg = res['cls_score'], res['bbox_pred']
            cls_terms.append(-(t_cls.softmax(-1) * s_cls.log_softmax(-1)).sum(-1).mean())
            reg_terms.append(roi_box_distill(s_reg, t_reg, teacher[f'roi_labels{i}'],
                                             self._roi_stages[i][1].num_classes))
        n = len(self._roi_stages)
        return dict(loss_distill_roi_cls=sum(cls_terms) / n, loss_distill_roi_reg=sum(reg_terms) / n)

    def sandwich_members(self, iteration: int) -> List[Tuple[str, Subnet]]:
        """The subnets trained at ``iteration``: the extremes (max, min), then k seeded
        random ones."""
        sp = self.sample_space
        members = [(e, self.max_member(iteration) if e == 'max' else sp.min_subnet()) for e in self.extremes]
        if self.sampling == 'fair':
            k = self.num_random_subnets
            members += [(f'random{i}', self.fair_draw(iteration * k + i)) for i in range(k)]
            return members
        rng = random.Random(self.seed * 1_000_003 + iteration)
        members += [(f'random{i}', sp.sample(rng)) for i in range(self.num_random_subnets)]
        return members

    def max_member(self, iteration: int) -> Subnet:
        """The max member at ``iteration``: the widest subnet, with the dimensions of
        ``max_sampled`` walked through seeded permutations of their choices (each once per
        window of as many iterations as it has choices)."""
        sp = self.sample_space
        if not self.max_sampled:
            return sp.max_subnet()
        picks = sp.picks(sp.max_subnet())
        for name, choices in sp.dimensions():
            if name in self.max_sampled:
                picks[name] = _fair_choice(choices, f'{self.seed}/max/{name}', iteration)
        return sp.compose(picks)

    def fair_draw(self, index: int) -> Subnet:
        """The ``index``-th fair random member: each dimension walks through seeded
        permutations of its choices, so any ``n`` consecutive draws of a dimension with
        ``n`` choices use each exactly once (dimensions are permuted independently)."""
        picks = {name: _fair_choice(choices, f'{self.seed}/{d}', index)
                 for d, (name, choices) in enumerate(self.sample_space.dimensions())}
        return self.sample_space.compose(picks)

    def train_step(self, data, optim_wrapper, grad_sync=None) -> Dict[str, torch.Tensor]:
        """One optimizer step over all sandwich members (gradients accumulated).

        Args:
            data: a batch from the dataloader.
            optim_wrapper: the optimizer wrapper.
            grad_sync: called once before the step to average gradients across ranks
                (:class:`SandwichDistributed` passes it); None on one process.
        """
        iteration = MessageHub.get_current_instance().get_info('iter', 0)
        data = self.data_preprocessor(data, True)
        log_vars: Dict[str, torch.Tensor] = OrderedDict()
        teacher = None
        total = 0.0
        members = self.sandwich_members(iteration)
        per_weight = self.average_members == 'per_weight'
        weight = 1.0 / len(members) if self.average_members is True else 1.0
        grads = {} if per_weight else None
        for name, sub in members:
            with self.mutator.use(sub):
                with optim_wrapper.optim_context(self):
                    losses = self.architecture.loss(data['inputs'], data['data_samples'])
                    if self.distill and teacher is not None:
                        losses.update(self._distill_losses(teacher))
                loss, member_vars = self.parse_losses(losses)
                optim_wrapper.backward(loss * weight)
            if per_weight:
                self._take_member_grads(grads)
            if self.distill and name == 'max':
                teacher = {k: _detached(v) for k, v in self._captured.items()}
            total = total + loss.detach()
            for k, v in member_vars.items():
                log_vars[f'{name}.{k}'] = v
        if per_weight:
            for p, total_grad, users in grads.values():
                p.grad = total_grad.div_(users.clamp_(min=1))
        if grad_sync is not None:
            grad_sync()
        optim_wrapper.step()
        optim_wrapper.zero_grad()
        log_vars['loss'] = total
        return log_vars

    def _take_member_grads(self, grads: dict) -> None:
        """Move one member's gradients into ``grads`` (parameter index -> [parameter, sum,
        count of members with a non-zero gradient there]) and clear them for the next."""
        for i, p in enumerate(self.parameters()):
            g = p.grad
            if g is None:
                continue
            p.grad = None
            used = (g != 0).to(g.dtype)
            if i in grads:
                grads[i][1].add_(g)
                grads[i][2].add_(used)
            else:
                grads[i] = [p, g, used]

    def forward(self, inputs, data_samples=None, mode: str = 'tensor'):
        """The detector at the active subnet (max unless a mutator call changed it)."""
        return self.architecture(inputs, data_samples, mode)


def _fair_choice(choices: list, stream: str, index: int):
    """The ``index``-th draw of a walk through seeded permutations of ``choices``: any
    ``len(choices)`` consecutive draws (from a multiple of it) use each choice once."""
    n = len(choices)
    perm = list(range(n))
    random.Random(f'{stream}/{index // n}').shuffle(perm)
    return choices[perm[index % n]]


def _roi_stages(roi_head: Optional[nn.Module]) -> List[Tuple[nn.Module, nn.Module]]:
    """A two-stage detector's (RoI extractor, box head) pairs: one for a standard RoI head,
    one per stage for a cascade; none without a RoI head."""
    if roi_head is None or not hasattr(roi_head, 'bbox_head'):
        return []
    ext, head = roi_head.bbox_roi_extractor, roi_head.bbox_head
    if isinstance(head, nn.ModuleList):
        return list(zip(ext, head))
    return [(ext, head)]


def _masked_l1(student: torch.Tensor, teacher: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean absolute difference over the entries where ``mask`` is true; 0 (with a
    gradient path) where it is nowhere true."""
    mask = mask.expand_as(teacher).to(teacher.dtype)
    return (mask * (student - teacher).abs()).sum() / mask.sum().clamp(min=1.0)


def dense_box_distill(student: torch.Tensor, teacher: torch.Tensor,
                      box_weights: torch.Tensor) -> torch.Tensor:
    """L1 between a student's and the teacher's box deltas of a dense head (RPN, GA-RPN,
    RetinaNet), on the anchors whose deltas the teacher's own box loss trains.

    Elsewhere the teacher's deltas are whatever its weights give, and pulling the students
    there through weights they share with the teacher chases a target that moves with
    every step: on the rank benchmark's supernet an L1 over all anchors grew from 0.1 to
    1.6e5 in 300 steps, and one weighted by the teacher's objectness from 0.07 to 1.3 in
    175 (anchors it scores as objects but that its box loss ignores).

    Args:
        student: the student's deltas of one level, (N, A * 4, H, W).
        teacher: the teacher's deltas there, of the same shape (detached).
        box_weights: the weights the teacher's box loss gave that level's deltas, as the
            head passes them to it: (N * H * W * A, 4), non-zero on the anchors it trains.

    Returns:
        The mean absolute difference per coordinate over those anchors, a scalar.
    """
    n, a4, h, w = teacher.shape
    anchors = a4 // 4
    trained = (box_weights.detach() > 0).view(n, h, w, anchors, 4).permute(0, 3, 4, 1, 2)
    return _masked_l1(student.view(n, anchors, 4, h, w), teacher.view(n, anchors, 4, h, w), trained)


def roi_box_distill(student: torch.Tensor, teacher: torch.Tensor, labels: torch.Tensor,
                    num_classes: int) -> torch.Tensor:
    """L1 between a student's and the teacher's RoI box deltas, on the RoIs whose deltas
    the teacher's box loss trains: those matched to an object, and of one set of deltas
    per class, only the object's class's (mmdet's rule).

    Args:
        student: the student's deltas, (R, 4) or (R, 4 * C).
        teacher: the teacher's deltas on the same RoIs (detached).
        labels: the RoIs' labels as the teacher's loss took them, (R,): a class index, or
            ``num_classes`` for background.
        num_classes: the head's number of object classes.

    Returns:
        The mean absolute difference per coordinate over those deltas, a scalar.
    """
    labels = labels.detach()
    foreground = (labels >= 0) & (labels < num_classes)
    if teacher.size(1) > 4:  # one set per class: the object's class's
        mask = torch.zeros_like(teacher, dtype=torch.bool).view(len(teacher), -1, 4)
        rows = foreground.nonzero().squeeze(1)
        mask[rows, labels[rows]] = True
        mask = mask.view_as(teacher)
    else:
        mask = foreground.unsqueeze(1)
    return _masked_l1(student, teacher, mask)


def _detached(x):
    """``x`` (a tensor, or nested tuples/lists of them) detached from the graph."""
    if isinstance(x, torch.Tensor):
        return x.detach()
    return type(x)(_detached(v) for v in x)


def average_gradients(params: Sequence[nn.Parameter], bucket_bytes: int = 25 * 2 ** 20) -> int:
    """Average the gradients of ``params`` over all ranks, in place, with one all-reduce
    per bucket of about ``bucket_bytes`` (flattened per device and dtype), not one per
    parameter.

    Every rank must pass the same parameters in the same order. A parameter without a
    gradient on some rank counts as a zero gradient there (as PyTorch's DDP does with
    unused parameters), so no rank waits for a tensor another rank never sends; a
    parameter without a gradient on every rank keeps ``grad = None`` (an optimizer
    then skips it, as it would on one process).

    Args:
        params: the parameters, in the same order on every rank.
        bucket_bytes: the largest flattened bucket.

    Returns:
        The number of all-reduce calls made.
    """
    world = dist.get_world_size()
    groups: Dict[tuple, List[nn.Parameter]] = {}
    for p in params:
        groups.setdefault((p.device, p.dtype), []).append(p)
    calls = 0
    for (device, dtype), group in groups.items():
        buckets, current, size = [], [], 0
        for p in group:
            if current and size + p.numel() * p.element_size() > bucket_bytes:
                buckets.append(current)
                current, size = [], 0
            current.append(p)
            size += p.numel() * p.element_size()
        buckets.append(current)
        for bucket in buckets:
            # The last len(bucket) entries count the ranks that had each gradient.
            flat = torch.cat([(p.grad if p.grad is not None else torch.zeros_like(p)).reshape(-1)
                              for p in bucket] +
                             [torch.tensor([float(p.grad is not None) for p in bucket], dtype=dtype,
                                           device=device)])
            dist.all_reduce(flat)
            calls += 1
            offset = 0
            for i, p in enumerate(bucket):
                n = p.numel()
                if flat[flat.numel() - len(bucket) + i] > 0:
                    g = flat[offset:offset + n].view_as(p).div_(world)
                    if p.grad is None:
                        p.grad = g.clone()
                    else:
                        p.grad.copy_(g)
                offset += n
    return calls


@MODEL_WRAPPERS.register_module()
class SandwichDistributed(nn.Module):
    """Data-parallel wrapper for :class:`SandwichSupernet` (any backend, CPU gloo included).

    PyTorch's DDP reducer expects one forward and one backward per step; the sandwich
    rule runs several of each. Every rank already trains the same subnets (members are
    seeded by the iteration), so the wrapper broadcasts rank 0's weights once, and
    averages the accumulated gradients before each optimizer step
    (:func:`average_gradients`: bucketed, one all-reduce per bucket): the train step
    itself is written once, in the supernet.

    Args:
        module: the supernet.
        **kwargs: DDP options (``device_ids``, ``broadcast_buffers``...), accepted and
            ignored so that configs and launchers written for DDP work unchanged.
    """

    def __init__(self, module: nn.Module, **kwargs):
        super().__init__()
        self.module = module
        if dist.is_available() and dist.is_initialized():
            for t in module.state_dict().values():
                dist.broadcast(t, src=0)

    def _sync(self) -> None:
        average_gradients([p for p in self.module.parameters() if p.requires_grad])

    def train_step(self, data, optim_wrapper):
        return self.module.train_step(data, optim_wrapper, grad_sync=self._sync)

    def val_step(self, data):
        return self.module.val_step(data)

    def test_step(self, data):
        return self.module.test_step(data)
