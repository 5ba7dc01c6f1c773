"""Sandwich-rule training step on the CPU."""
import torch
from mmengine.logging import MessageHub
from mmengine.optim import OptimWrapper

from smnas.testing import build_detector, demo_batch
from smnas.modular.structure import supernet_model_cfg

from .common import RCNN, TINY_SPACE, CaptureGrads

SPACE = TINY_SPACE


def make(**kw):
    torch.manual_seed(0)
    kw.setdefault('num_random_subnets', 1)
    cfg = dict(type='SandwichSupernet', architecture=supernet_model_cfg(RCNN, SPACE, 3),
               space=SPACE.to_dict(), **kw)
    return build_detector(cfg)


def step_grads(**kw):
    """The gradients of one training step at iteration 3 (RoI sampling seeded alike)."""
    model = make(**kw)
    MessageHub.get_current_instance().update_info('iter', 3)
    optim = CaptureGrads(torch.optim.SGD(model.parameters(), lr=0.0))
    torch.manual_seed(5)
    model.train_step(demo_batch(batch_size=1, size=(96, 96)), optim)
    return optim.grads


def test_members_are_seeded_by_iteration():
    model = make(seed=3)
    assert model.sandwich_members(5) == model.sandwich_members(5)
    names = [n for n, _ in model.sandwich_members(5)]
    assert names == ['max', 'min', 'random0']
    draws = {str(model.sandwich_members(i)[2][1]) for i in range(20)}
    assert len(draws) > 5


def test_train_step_logs_every_member_and_updates_weights():
    model = make(distill=True)
    MessageHub.get_current_instance().update_info('iter', 7)
    optim = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.01))
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    log = model.train_step(demo_batch(batch_size=2, size=(96, 96)), optim)
    for member in ('max', 'min', 'random0'):
        assert f'{member}.loss' in log and torch.isfinite(log[f'{member}.loss'])
    assert 'min.loss_distill' in log and 'max.loss_distill' not in log
    changed = [n for n, p in model.named_parameters() if not torch.equal(p, before[n])]
    # the min member updates only the leading slices; the max member reaches the rest
    assert any('stem.0' in n for n in changed) and any('bbox_head.shared_fcs' in n for n in changed)
    assert str(model.mutator.current) == str(SPACE.max_subnet())


def test_average_members_takes_the_mean_of_the_member_gradients():
    grads = {avg: step_grads(average_members=avg) for avg in (False, True)}
    n = len(make().sandwich_members(3))
    pairs = [(a, b) for a, b in zip(grads[False], grads[True]) if a is not None]
    assert pairs and any(a.abs().sum() > 0 for a, _ in pairs)
    for a, b in pairs:
        torch.testing.assert_close(b * n, a, rtol=1e-4, atol=1e-6)


def test_fair_sampling_trains_every_choice_equally_often():
    """Over any window of n draws, a dimension with n choices uses each exactly once
    (uniform draws leave some choices over- and others under-trained)."""
    model = make(sampling='fair', seed=1)
    assert model.sandwich_members(4) == model.sandwich_members(4)  # seeded by the iteration
    draws = [model.sandwich_members(i)[2][1] for i in range(12)]
    for i in range(0, 12, 2):  # 2 bases: each once per pair of draws
        assert {draws[i].base, draws[i + 1].base} == set(SPACE.bases)
    n = len(SPACE.stage_choices(1))
    window = [model.fair_draw(j).stages[1] for j in range(n)]
    assert sorted(window) == sorted(SPACE.stage_choices(1))
    for d in draws:
        SPACE.validate(d)


def test_max_sampled_walks_the_teachers_neck_through_every_width():
    """max_sampled=['neck']: the max member keeps its widest backbone and head and takes
    each neck width once per window of as many steps as there are widths (seeded by the
    iteration: a resumed run draws the same); a teacher whose neck is narrower than a
    student's still distils it; names outside the space, or no max member, are refused."""
    import pytest

    model = make(max_sampled=['neck'], extremes=['max'], distill='outputs', sampling='fair', seed=2)
    widest = SPACE.max_subnet()
    n = len(SPACE.neck_channels)
    teachers = [model.sandwich_members(i)[0] for i in range(4 * n)]
    assert {name for name, _ in teachers} == {'max'}
    for start in range(0, 4 * n, n):
        assert sorted(t.neck for _, t in teachers[start:start + n]) == sorted(SPACE.neck_channels)
    assert all((t.base, t.stages, t.head) == (widest.base, widest.stages, widest.head) for _, t in teachers)
    assert model.sandwich_members(5) == model.sandwich_members(5)
    assert make(extremes=['max']).max_member(3) == widest  # by default the widest in every choice
    # a teacher with the narrow neck, a student with the wide one
    step = next(i for i in range(4 * n) if model.sandwich_members(i)[0][1].neck == min(SPACE.neck_channels)
                and any(s.neck > min(SPACE.neck_channels) for _, s in model.sandwich_members(i)[1:]))
    MessageHub.get_current_instance().update_info('iter', step)
    log = model.train_step(demo_batch(batch_size=1, size=(96, 96)),
                           OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.01)))
    assert all(torch.isfinite(v) for v in log.values()) and 'random0.loss_distill_cls' in log
    with pytest.raises(ValueError, match='dimensions'):
        make(max_sampled=['neck_channels'])
    with pytest.raises(ValueError, match='dimensions'):
        make(max_sampled='neck')
    with pytest.raises(ValueError, match="must hold 'max'"):
        make(max_sampled=['neck'], extremes=[], num_random_subnets=2)


ROI_TERMS = {'loss_distill_roi_cls', 'loss_distill_roi_reg'}


def test_output_distillation_of_the_dense_and_roi_heads():
    """distill='both' (the 'outputs' terms and the features' one): the students get
    soft-target and box terms against the max member's RPN and RoI head outputs;
    'outputs' alone has no feature term."""
    for mode, keys in (('both', {'loss_distill', 'loss_distill_cls', 'loss_distill_reg'} | ROI_TERMS),
                       ('outputs', {'loss_distill_cls', 'loss_distill_reg'} | ROI_TERMS)):
        model = make(distill=mode)
        MessageHub.get_current_instance().update_info('iter', 2)
        optim = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.01))
        log = model.train_step(demo_batch(batch_size=2, size=(96, 96)), optim)
        assert {k.split('.', 1)[1] for k in log if k.startswith('min.loss_distill')} == keys
        for k in keys:
            assert torch.isfinite(log[f'min.{k}']) and f'max.{k}' not in log
        assert log['min.loss_distill_cls'] > 0 and log['min.loss_distill_roi_cls'] > 0
        # the box weights of every level of the RPN's loss, some anchors trained
        weights = model._captured['box_weights']
        assert len(weights) == len(model._captured['outputs'][1]) and any((w > 0).any() for w in weights)
    import pytest
    with pytest.raises(ValueError, match='distill must be'):
        make(distill='logits')


def _roi_terms_against_itself(model):
    """The max member's RoI distillation terms against its own captured outputs."""
    batch = model.data_preprocessor(demo_batch(batch_size=2, size=(96, 96)), True)
    model.mutator.set_max()
    torch.manual_seed(1)
    model.architecture.loss(batch['inputs'], batch['data_samples'])
    # every other RoI: the student's own loss pass sampled all of them, so only a student
    # run on the teacher's RoIs can match these
    teacher = {k: v.detach()[::2] if torch.is_tensor(v) else tuple(t.detach()[::2] for t in v)
               for k, v in model._captured.items() if k.startswith(('rois', 'roi_outputs', 'roi_labels'))}
    torch.manual_seed(2)
    model.architecture.loss(batch['inputs'], batch['data_samples'])
    assert len(model._captured['rois0']) > len(teacher['rois0'])
    # some of the teacher's RoIs are matched to objects: the box term has something to compare
    assert (teacher['roi_labels0'] < model._roi_stages[0][1].num_classes).any()
    return teacher, model._roi_distill_losses(teacher)


def test_roi_distillation_runs_the_student_on_the_teachers_rois():
    """A student identical to its teacher, on the teacher's RoIs, reproduces its box deltas
    (L1 0) and its class distribution (the cross-entropy is the teacher's entropy), though
    its own loss pass sampled other RoIs; the terms reach the student's RoI head, and each
    stage of a cascade is distilled."""
    from .common import tiny_space

    model = make(distill='outputs')
    teacher, terms = _roi_terms_against_itself(model)
    assert float(terms['loss_distill_roi_reg']) < 1e-6
    p = teacher['roi_outputs0'][0].softmax(-1)
    entropy = -(p * p.log()).sum(-1).mean()
    torch.testing.assert_close(terms['loss_distill_roi_cls'].detach(), entropy, rtol=1e-4, atol=1e-5)
    model.zero_grad()
    terms['loss_distill_roi_cls'].backward()
    fcs = [p.grad for n, p in model.named_parameters() if 'bbox_head.shared_fcs' in n]
    assert fcs and all(g is not None and g.abs().sum() > 0 for g in fcs)

    cascade = 'r50_fpn-p3p5-p6_rpn_cascade2_512x512'
    torch.manual_seed(0)
    model = build_detector(dict(type='SandwichSupernet', architecture=supernet_model_cfg(
        cascade, tiny_space(cascade), 3), space=tiny_space(cascade).to_dict(), num_random_subnets=1,
        distill='outputs'))
    assert len(model._roi_stages) == 2
    teacher, terms = _roi_terms_against_itself(model)
    assert {'rois0', 'rois1'} <= set(teacher) and float(terms['loss_distill_roi_reg']) < 1e-6


def test_box_distillation_only_where_the_teachers_box_loss_trains_it():
    """The box terms compare deltas only where the teacher's own box loss trains them (its
    anchors' box weights; RoIs matched to an object, and per class only the object's
    class): elsewhere the teacher's deltas are no target, however far off, and get no
    gradient; where it trains them the term is the plain L1."""
    from supernet.algorithm import dense_box_distill, roi_box_distill

    g = torch.Generator().manual_seed(0)
    n, anchors, h, w = 2, 3, 4, 5
    teacher = torch.randn(n, anchors * 4, h, w, generator=g)
    student = (teacher + torch.randn(n, anchors * 4, h, w, generator=g)).requires_grad_()
    # the box weights as mmdet's head passes them to its loss: (N * H * W * A, 4)
    weights = torch.zeros(n, h, w, anchors, 4)
    weights[:, :, :, 1] = 1.0  # anchor 1 trained everywhere
    far = teacher.view(n, anchors, 4, h, w).clone()
    far[:, [0, 2]] = 1e5  # the others: untrained deltas, however far off
    loss = dense_box_distill(student, far.view_as(teacher), weights.view(-1, 4))
    s, t = student.view(n, anchors, 4, h, w)[:, 1], teacher.view(n, anchors, 4, h, w)[:, 1]
    torch.testing.assert_close(loss, (s - t).abs().mean())
    loss.backward()
    grad = student.grad.view(n, anchors, 4, h, w)
    assert grad[:, [0, 2]].abs().sum() == 0 and grad[:, 1].abs().sum() > 0
    # one trained anchor at one place: the layouts of the weights and the deltas agree
    one = torch.zeros(n, h, w, anchors, 4)
    one[1, 2, 3, 0] = 1.0
    d = torch.zeros(n, anchors, 4, h, w)
    d[1, 0, :, 2, 3] = 3.0
    assert float(dense_box_distill(d.view_as(teacher), torch.zeros_like(teacher), one.view(-1, 4))) == 3.0
    assert float(dense_box_distill(student, far.view_as(teacher), torch.zeros(n * h * w * anchors, 4))) == 0

    # RoIs, 2 classes (background is label 2): class-agnostic deltas on the 2 foreground RoIs
    labels = torch.tensor([0, 1, 2, 2])
    t_reg = torch.randn(4, 4, generator=g)
    far = t_reg.clone()
    far[2:] = 1e5
    torch.testing.assert_close(roi_box_distill(t_reg + 1.0, far, labels, 2), torch.tensor(1.0))
    # one set of deltas per class: only each RoI's class's
    s_reg = torch.full((4, 8), 50.0)
    s_reg[0, :4] = 2.0  # RoI 0 (class 0) off by 2 in its class's deltas
    s_reg[1, 4:] = 4.0  # RoI 1 (class 1) off by 4 in its class's
    torch.testing.assert_close(roi_box_distill(s_reg, torch.zeros(4, 8), labels, 2), torch.tensor(3.0))


def test_a_part_of_the_space_draws_every_member_from_it():
    """Few-shot NAS: a supernet trained on one part (here neck width 32) keeps the whole
    space's module sizes but trains only subnets of its part."""
    import pytest

    for sampling in ('uniform', 'fair'):
        model = make(part=dict(neck_channels=[32]), sampling=sampling)
        members = [sub for i in range(12) for _, sub in model.sandwich_members(i)]
        assert {s.neck for s in members} == {32} and len({str(s) for s in members}) > 5
        assert model.sandwich_members(0)[0][1].base == max(SPACE.bases)  # the part's max
    whole = make()
    assert [p.shape for p in model.parameters()] == [p.shape for p in whole.parameters()]
    with pytest.raises(ValueError, match='not among the choices'):
        make(part=dict(neck_channels=[48]))
    with pytest.raises(ValueError, match='not .max_depths'):
        make(part=dict(max_depths=[1, 1, 1, 1]))


def test_extremes_choose_which_of_max_and_min_train_every_step():
    """extremes=[] trains k random members only (single-path sampling); without 'min'
    the min subnet is no longer trained at every step."""
    import pytest

    model = make(extremes=[], num_random_subnets=3, sampling='fair')
    assert [n for n, _ in model.sandwich_members(0)] == ['random0', 'random1', 'random2']
    draws = [s for i in range(4) for _, s in model.sandwich_members(i)]
    assert str(SPACE.min_subnet()) not in {str(s) for s in draws[:2]}  # not at every step
    MessageHub.get_current_instance().update_info('iter', 1)
    log = model.train_step(demo_batch(batch_size=1, size=(96, 96)),
                           OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.01)))
    assert {k.split('.')[0] for k in log if '.' in k} == {'random0', 'random1', 'random2'}
    assert [n for n, _ in make(extremes=['min', 'max']).sandwich_members(0)][:2] == ['max', 'min']
    assert [n for n, _ in make(extremes=['max'], distill='outputs').sandwich_members(0)] == ['max', 'random0']
    with pytest.raises(ValueError, match="must hold 'max'"):
        make(extremes=['min'], distill=True)
    with pytest.raises(ValueError, match='distinct'):
        make(extremes=['max', 'largest'])
    with pytest.raises(ValueError, match='no member'):
        make(extremes=[], num_random_subnets=0)


def test_per_weight_mean_divides_each_gradient_by_the_members_that_used_it():
    """average_members='per_weight': against the sum of the members' gradients, each
    weight's gradient is divided by how many members reached it: 1 for slices only the
    max member uses, all three for the leading slices every member shares."""
    import pytest

    grads = {mode: step_grads(average_members=mode) for mode in (False, 'per_weight')}
    counts = set()
    for total, per in zip(grads[False], grads['per_weight']):
        assert (total is None) == (per is None)
        if total is None:
            continue
        nz = per != 0
        assert torch.equal(nz, total != 0)
        ratio = total[nz] / per[nz]
        torch.testing.assert_close(ratio, ratio.round(), rtol=1e-4, atol=1e-4)
        counts |= set(ratio.round().int().tolist())
    assert counts == {1, 2, 3}
    with pytest.raises(ValueError, match='average_members'):
        make(average_members='mean')
