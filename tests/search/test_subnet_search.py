"""Subnet search on a tiny supernet and tiny data: inherited-weight evaluation, FLOPs
range, determinism, resume, and refusal of wrong checkpoints."""
import json

import pytest
import torch
from mmengine.config import Config

from supernet.space import Subnet

from smnas.data.synthetic import SyntheticConfig, generate
from smnas.search.study import arch_outcomes
from smnas.search.subnet import SubnetSearch
from smnas.testing import build_detector, config_path
from smnas.modular.export import NotASupernetCheckpoint


def tiny_cfg(root) -> Config:
    cfg = Config.fromfile(str(config_path('supernet/quickstart_synthetic.py')))
    r = f'{root}/'
    cfg.merge_from_dict({
        'model.space.bases': [16, 24], 'model.space.neck_channels': [32, 64],
        'model.space.head_channels': [32, 64], 'model.space.max_depths': [1, 2, 1, 2],
        'model.architecture.num_classes': 5,  # the tiny data's classes (generator default)
        'val_dataloader.dataset.data_root': r, 'val_evaluator.ann_file': r + 'annotations/instances_val.json',
        'val_dataloader.num_workers': 0, 'val_dataloader.persistent_workers': False,
        'subnet_search.population_size': 4, 'subnet_search.seed': 1,
    })
    cfg.val_dataloader.dataset.pipeline[1].scale = (96, 64)
    return cfg


def tiny_supernet(root, num_val: int = 3, seed: int = 3):
    """Tiny data in ``root`` and an untrained tiny supernet checkpoint: (config, checkpoint)."""
    generate(SyntheticConfig(image_size=(96, 64), num_train=2, num_val=num_val, seed=seed), root)
    cfg = tiny_cfg(root)
    torch.manual_seed(0)
    model = build_detector(cfg.model)
    ckpt = root / 'supernet.pth'
    torch.save(dict(state_dict=model.state_dict(), meta=dict(supernet_space=dict(cfg.model.space))), ckpt)
    return cfg, str(ckpt)


@pytest.fixture(scope='module')
def setup(tmp_path_factory):
    return tiny_supernet(tmp_path_factory.mktemp('data'))


def _search(setup, work, n, **kw):
    cfg, ckpt = setup
    cfg = Config(cfg.to_dict())
    cfg.merge_from_dict({'subnet_search.n_trials': n})
    s = SubnetSearch(cfg, ckpt, str(work), **kw)
    return s, s.run()


def _evaluated(study):
    return {a: o['values'] for a, o in arch_outcomes(study).items() if o['state'] == 'complete'}


def test_same_seed_same_front_and_resume_without_reevaluating(setup, tmp_path):
    s, a = _search(setup, tmp_path / 'a', 5)
    _, b = _search(setup, tmp_path / 'b', 5)
    assert _evaluated(a) == _evaluated(b) and len(_evaluated(a)) == 5
    # a second run with a larger target continues: the 5 stay, nothing is evaluated twice
    evaluated = sorted(p.name for p in (tmp_path / 'a' / 'trials').iterdir())
    s2, a2 = _search(setup, tmp_path / 'a', 7)
    after = sorted(p.name for p in (tmp_path / 'a' / 'trials').iterdir())
    assert set(evaluated) <= set(after) and len(after) == 7
    assert all(r.is_file() for r in (tmp_path / 'a' / 'trials').glob('*/result.json'))
    results = {a: o for a, o in arch_outcomes(a2).items() if o['state'] == 'complete'}
    assert len(results) == 7
    for arch, o in results.items():  # ranked by the inherited mAP (the default)
        (score, flops), attrs = o['values'], o['attrs']
        assert score == attrs['mAP'] and 0.0 <= score <= 1.0 and 'val_loss' not in attrs
        assert flops == pytest.approx(s2.table.flops(arch))


def test_flops_range_is_respected_and_an_empty_one_refused(setup, tmp_path):
    cfg, ckpt = setup
    probe = SubnetSearch(cfg, ckpt, str(tmp_path / 'probe'))
    lo, hi = (v / 1e9 for v in probe.span)
    mid = (lo + hi) / 2
    s, study = _search(setup, tmp_path / 'r', 4, flops_range=(lo, mid))
    done = _evaluated(study)
    assert done and all(f <= mid * 1e9 for _, f in done.values())
    skipped = [t for t in study.get_trials() if 'skipped' in t.user_attrs]
    assert all(t.user_attrs['flops'] > mid * 1e9 for t in skipped)
    assert not any((tmp_path / 'r' / 'trials' / t.user_attrs['skipped'].split(':')[0]).exists()
                   for t in skipped)
    with pytest.raises(ValueError, match='excludes every subnet'):
        SubnetSearch(cfg, ckpt, str(tmp_path / 'x'), flops_range=(hi * 2, hi * 3))


def test_wrong_checkpoints_are_refused(setup, tmp_path):
    cfg, ckpt = setup
    plain = tmp_path / 'plain.pth'
    torch.save(dict(state_dict={}), plain)
    with pytest.raises(NotASupernetCheckpoint, match='not a supernet checkpoint'):
        SubnetSearch(cfg, str(plain), str(tmp_path / 'w'))
    other = tmp_path / 'other.pth'
    space = dict(cfg.model.space, bases=[16, 32])
    torch.save(dict(state_dict={}, meta=dict(supernet_space=space)), other)
    with pytest.raises(NotASupernetCheckpoint, match='another search space'):
        SubnetSearch(cfg, str(other), str(tmp_path / 'w'))


@pytest.mark.parametrize('score', ['mAP', 'val_loss'])
def test_screening_scores_on_all_images_only_what_could_reach_the_front(setup, tmp_path, monkeypatch, score):
    """Successive halving over val images: with a subset score within the margin of the
    full score, the front is the front of scoring everything in full, and the subnets
    scored on the subset only are dominated by a fully scored cheaper one; with either
    score (a loss is minimised)."""
    import random
    import zlib

    from smnas.search.pareto import pareto_front
    from smnas.evaluation.inherited import InheritedEvaluator

    def true_map(arch):  # a fixed score per subnet, unrelated to FLOPs
        return random.Random(zlib.crc32(arch.encode())).uniform(0.2, 0.6)

    def true_loss(arch):  # ranks the subnets otherwise than their mAP
        return random.Random(zlib.crc32(arch.encode()) + 1).uniform(0.5, 1.5)

    def noisy(value, subnet, images, num_images):  # subset noise below the margin
        if images is not None and images < num_images:
            value += 0.004 * (1 if zlib.crc32(str(subnet).encode()) % 2 else -1)
        return value

    calls = []  # (what was scored, subnet, images)

    def fake(self, subnet, images=None, loss_seed=None):
        calls.append(('mAP', str(subnet), images))
        m = noisy(true_map(str(subnet)), subnet, images, self.num_images)
        if loss_seed is None:
            return dict(mAP=m, mAP_50=m)
        return dict(mAP=m, mAP_50=m, val_loss=noisy(true_loss(str(subnet)), subnet, images, self.num_images))

    def fake_loss(self, subnet, images=None, seed=0):
        calls.append(('val_loss', str(subnet), images))
        return noisy(true_loss(str(subnet)), subnet, images, self.num_images)

    monkeypatch.setattr(InheritedEvaluator, 'evaluate', fake)
    monkeypatch.setattr(InheritedEvaluator, 'val_loss', fake_loss)
    cfg, ckpt = setup
    cfg = Config(cfg.to_dict())
    cfg.merge_from_dict({'subnet_search.n_trials': 12, 'subnet_search.screen_fraction': 0.34,
                         'subnet_search.screen_min_images': 1, 'subnet_search.screen_margin': 0.005,
                         'subnet_search.score': score})
    s = SubnetSearch(cfg, ckpt, str(tmp_path / 's'))
    assert s.screen_images == 1 and s.evaluator.num_images == 3
    study = s.run()
    done = arch_outcomes(study)
    full = {a for a, o in done.items() if o['attrs']['eval_images'] == 3}
    screened = {a for a, o in done.items() if o['attrs']['eval_images'] == 1}
    assert len(full) + len(screened) == 12 and screened, 'nothing was screened out'
    # every subnet was scored on the subset first, and on all images only when promoted;
    # by the val loss alone (map_of='front'), the front's mAP once the search ended
    searched = [(a, n) for kind, a, n in calls if kind == score]
    assert sorted(a for a, n in searched if n == 1) == sorted(done)
    assert sorted(a for a, n in searched if n is None) == sorted(full)
    front = [a for a, _, _ in s.front(study)]
    assert [(k, a) for k, a, _ in calls if k != score] == [('mAP', a) for a in front if score != 'mAP']
    pts = [(a, o['values'][0], o['values'][1]) for a, o in done.items()]
    true_value = true_map if score == 'mAP' else (lambda a: -true_loss(a))
    truth = [(a, true_value(a), o['values'][1]) for a, o in done.items()]
    assert [p[0] for p in pareto_front(pts)] == [p[0] for p in pareto_front(truth)]
    for a in screened:
        m, f = done[a]['values']
        assert any(done[b]['values'][1] <= f and done[b]['values'][0] > m for b in full)
        assert s.displayed_score(m) == done[a]['attrs'][f'{score}_screen']
    outcomes = s.outcomes(study)
    for a in full:  # the front's mAP is scored whatever the ranking score
        assert outcomes[a]['attrs']['mAP'] == true_map(a) if score == 'mAP' or a in front else \
            'mAP' not in outcomes[a]['attrs']


def test_ranking_by_map(setup, tmp_path):
    """subnet_search.score='mAP' (the default): the study maximises the inherited mAP, and
    no loss pass runs (nor is a val loss stored)."""
    cfg, ckpt = setup
    cfg = Config(cfg.to_dict())
    cfg.merge_from_dict({'subnet_search.n_trials': 3})
    s = SubnetSearch(cfg, ckpt, str(tmp_path / 'w'))
    assert s.score_key == 'mAP'
    s.evaluator.val_loss = None  # no loss pass: calling it would fail
    study = s.run()
    done = {a: o for a, o in arch_outcomes(study).items() if o['state'] == 'complete'}
    assert len(done) == 3
    for o in done.values():
        assert o['values'][0] == o['attrs']['mAP'] and 'val_loss' not in o['attrs']


def test_a_finetune_before_scoring_scores_the_finetuned_weights(setup, tmp_path):
    """subnet_search.finetune_iters: each subnet is scored after that many seeded SGD steps
    alone (the evaluator's fine-tune, the same for every worker), the supernet's weights are
    restored after each, and a study scored otherwise is not resumed."""
    cfg, ckpt = setup
    cfg = Config(cfg.to_dict())
    root = cfg.val_dataloader.dataset.data_root
    cfg.merge_from_dict({'subnet_search.n_trials': 2, 'subnet_search.score': 'val_loss',
                         'subnet_search.map_of': 'every', 'subnet_search.finetune_iters': 2,
                         'train_dataloader.dataset.data_root': root, 'train_dataloader.num_workers': 0,
                         'train_dataloader.persistent_workers': False, 'train_dataloader.batch_size': 2})
    cfg.train_dataloader.dataset.pipeline[2].scale = (96, 64)
    s = SubnetSearch(cfg, ckpt, str(tmp_path / 'w'))
    before = {k: v.clone() for k, v in s.evaluator.model.state_dict().items()}
    study = s.run()
    done = {a: o for a, o in arch_outcomes(study).items() if o['state'] == 'complete'}
    assert len(done) == 2
    seed = int(s.opts['seed'])
    for arch, o in done.items():
        inherited = s.evaluator.val_loss(arch, seed=seed)
        with s.evaluator.finetuned(arch, 2, seed=seed):
            tuned = s.evaluator.val_loss(arch, seed=seed)
        assert o['values'][0] == pytest.approx(-tuned, rel=1e-5)
        assert tuned != pytest.approx(inherited, rel=1e-5)  # the fine-tune changed what was scored
    after = s.evaluator.model.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert study.user_attrs['meta']['scoring'] == {'finetune_iters': 2, 'finetune_lr': None}
    cfg.merge_from_dict({'subnet_search.finetune_iters': 0})
    with pytest.raises(ValueError, match='scored its subnets with'):
        SubnetSearch(cfg, ckpt, str(tmp_path / 'w')).open()


def test_ranking_by_some_terms_of_the_val_loss(setup, tmp_path):
    """subnet_search.val_loss_terms: the study minimises the sum of those terms alone, the
    study says so (and is not resumed otherwise), and a term the detector lacks is refused
    before any subnet is scored."""
    cfg, ckpt = setup
    cfg = Config(cfg.to_dict())
    cfg.merge_from_dict({'subnet_search.n_trials': 2, 'subnet_search.score': 'val_loss',
                         'subnet_search.map_of': 'every', 'subnet_search.val_loss_terms': ['loss_bbox']})
    s = SubnetSearch(cfg, ckpt, str(tmp_path / 'w'))
    study = s.run()
    done = {a: o for a, o in arch_outcomes(study).items() if o['state'] == 'complete'}
    assert len(done) == 2
    for arch, o in done.items():
        stored = json.loads((s.results_dir / arch / 'result.json').read_text())
        assert o['values'][0] == pytest.approx(-stored['val_loss_terms']['loss_bbox'], rel=1e-6)
        assert stored['val_loss'] == pytest.approx(stored['val_loss_terms']['loss_bbox'], rel=1e-6)
    assert study.user_attrs['meta']['scoring'] == {'val_loss_terms': ['loss_bbox']}
    cfg.merge_from_dict({'subnet_search.val_loss_terms': None})
    with pytest.raises(ValueError, match='scored its subnets with'):
        SubnetSearch(cfg, ckpt, str(tmp_path / 'w')).open()
    cfg.merge_from_dict({'subnet_search.val_loss_terms': ['loss_box']})
    with pytest.raises(ValueError, match="sum loss_box, which this detector's loss does not have"):
        SubnetSearch(cfg, ckpt, str(tmp_path / 'x'))
    assert not (tmp_path / 'x' / 'trials').exists()
    cfg.merge_from_dict({'subnet_search.val_loss_terms': ['loss_bbox'], 'subnet_search.score': 'mAP'})
    with pytest.raises(ValueError, match="needs score='val_loss' or 'box_blend', not 'mAP'"):
        SubnetSearch(cfg, ckpt, str(tmp_path / 'y'))


def test_ranking_by_the_blend_of_map_and_box_loss(setup, tmp_path):
    """subnet_search.score='box_blend': the box loss's weight is set once, before the search,
    from the first generation's first subnets (the ratio of the two scores' spreads), kept in
    box_blend.json and the study's meta; every subnet's value is mAP - scale * its box loss,
    each subnet is scored once (the calibration's reused by their trials), and a resumed
    search reads the scale back and scores nothing again."""
    from smnas.evaluation.blend import box_blend_scale
    from smnas.reports.subnet import write_subnet_report

    cfg, ckpt = setup
    cfg = Config(cfg.to_dict())
    cfg.merge_from_dict({'subnet_search.n_trials': 5, 'subnet_search.score': 'box_blend',
                         'subnet_search.blend_calibration': 3})
    s = SubnetSearch(cfg, ckpt, str(tmp_path / 'w'))
    assert s.evaluator.loss_terms == ['*loss_bbox']
    real, calls = s.evaluator.evaluate, []

    def spread_map(subnet, *a, **kw):  # an untrained supernet's mAP is 0 everywhere: no spread
        calls.append(str(subnet))
        return dict(real(subnet, *a, **kw), mAP=(len(str(subnet)) % 5) / 10)
    s.evaluator.evaluate = spread_map
    study = s.run()
    first = s.spread(4)[:3]
    assert calls[:3] == first and len(calls) == len(set(calls)) == 5
    kept = json.loads((tmp_path / 'w' / 'box_blend.json').read_text())
    assert list(kept['subnets']) == first and kept['loss_terms'] == ['*loss_bbox']
    assert kept['scale'] == pytest.approx(box_blend_scale([r['mAP'] for r in kept['subnets'].values()],
                                                          [r['val_loss'] for r in kept['subnets'].values()]))
    assert kept['scale'] > 0 and study.user_attrs['meta']['scoring']['box_blend_scale'] == kept['scale']
    done = {a: o for a, o in arch_outcomes(study).items() if o['state'] == 'complete'}
    assert len(done) == 5
    for arch, o in done.items():
        stored = json.loads((s.results_dir / arch / 'result.json').read_text())
        assert stored['val_loss'] == pytest.approx(stored['val_loss_terms']['loss_bbox'], rel=1e-6)
        assert o['values'][0] == pytest.approx(stored['mAP'] - kept['scale'] * stored['val_loss'])
        assert stored['box_blend'] == pytest.approx(o['values'][0])
    report = write_subnet_report(s, study)['report'].read_text()
    assert "subnet_search.score='box_blend'" in report and '| mAP | box_blend |' in report
    assert 'box_blend' in (tmp_path / 'w' / 'trials.csv').read_text().splitlines()[0].split(',')
    again = SubnetSearch(cfg, ckpt, str(tmp_path / 'w'))
    again.evaluator.evaluate = spread_map
    again.run()
    assert again.blend_scale == kept['scale'] and len(calls) == 5
    cfg.merge_from_dict({'subnet_search.blend_calibration': 1})
    with pytest.raises(ValueError, match='blend_calibration must be 2 or more'):
        SubnetSearch(cfg, ckpt, str(tmp_path / 'x'))


@pytest.mark.parametrize('map_of', ['every', 'front'])
def test_ranking_by_val_loss(setup, tmp_path, map_of):
    """subnet_search.score='val_loss': the study minimises each subnet's val loss (its
    value is the loss negated), the hypervolume and the report follow it, finalists keep
    their inherited mAP, and the study refuses to resume by mAP. With map_of='every' each
    subnet's mAP is scored in its loss's pass; with 'front' each subnet is scored by its
    loss alone and only the front's subnets get their mAP, once, when the search ends."""
    from smnas.modular import export_finalists
    from smnas.reports.subnet import write_subnet_report

    cfg, ckpt = setup
    cfg = Config(cfg.to_dict())
    cfg.merge_from_dict({'subnet_search.n_trials': 5, 'subnet_search.score': 'val_loss',
                         'subnet_search.map_of': map_of})
    s = SubnetSearch(cfg, ckpt, str(tmp_path / 'w'))
    ev = s.evaluator
    calls = []

    def spy(name):
        method = getattr(ev, name)

        def counted(subnet, *a, **kw):
            calls.append((name, str(subnet)))
            return method(subnet, *a, **kw)
        return counted
    ev.evaluate, ev.val_loss = spy('evaluate'), spy('val_loss')
    study = s.run()
    done = {a: o for a, o in arch_outcomes(study).items() if o['state'] == 'complete'}
    assert len(done) == 5
    front = [arch for arch, _, _ in s.front(study)]
    assert front and set(front) <= set(done)
    if map_of == 'every':
        assert calls == [('evaluate', a) for a in done]  # one pass each, the loss in it
    else:  # the loss alone for each subnet, then the mAP of the front's only
        assert calls == [('val_loss', a) for a in done] + [('evaluate', a) for a in front]
    outcomes = s.outcomes(study)
    for arch, o in done.items():
        loss, attrs = o['attrs']['val_loss'], outcomes[arch]['attrs']
        assert loss > 0 and o['values'][0] == -loss
        assert loss == pytest.approx(ev.val_loss(arch, seed=int(s.opts['seed'])), rel=1e-5)
        if map_of == 'every' or arch in front:
            assert 0.0 <= attrs['mAP'] <= 1.0 and attrs['mAP_se'] >= 0  # subnet_search.bootstrap
        else:
            assert 'mAP' not in attrs
    if map_of == 'front':
        assert s.score_front(study) == []  # a rerun scores nothing twice
        maps = {a: outcomes[a]['attrs']['mAP'] for a in front}
        assert maps == {a: pytest.approx(ev.evaluate(a)['mAP']) for a in front}
    st = s.status(study)
    best = max(o['values'][0] for o in done.values())
    assert st['hv_ref_score'] == 2 * min(o['values'][0] for o in done.values()) and st['hypervolume'] > 0
    assert max(p[1] for p in st['front']) == best  # the lowest loss is on the front
    finalists = export_finalists(s, study, k=2)
    for f in finalists:
        assert f.mAP_inherited == outcomes[f.arch]['attrs']['mAP']
    report = (write_subnet_report(s, study, finalists)['report']).read_text()
    assert '## Supernet ensemble' not in report  # one supernet
    assert "subnet_search.score='val_loss'" in report and '| subnet | GFLOPs | mAP | val_loss |' in report
    assert '50 bootstrap resamples' in report and 'not scored yet' not in report
    assert ("subnet_search.map_of='front'" in report) == (map_of == 'front')
    cfg.merge_from_dict({'subnet_search.score': 'mAP'})
    with pytest.raises(ValueError, match="ranks by 'val_loss', this config by 'mAP'"):
        SubnetSearch(cfg, ckpt, str(tmp_path / 'w')).open()
    cfg.merge_from_dict({'subnet_search.score': 'loss'})
    with pytest.raises(ValueError,
                       match="subnet_search.score must be one of 'mAP', 'val_loss', 'box_blend', not 'loss'"):
        SubnetSearch(cfg, ckpt, str(tmp_path / 'x'))
    cfg.merge_from_dict({'subnet_search.score': 'val_loss', 'subnet_search.map_of': 'all'})
    with pytest.raises(ValueError, match="map_of must be 'front' or 'every', not 'all'"):
        SubnetSearch(cfg, ckpt, str(tmp_path / 'x'))


def test_random_sampler_baseline_and_shared_results(setup, tmp_path):
    """``sampler='random'`` draws uniformly (the baseline of benchmarks/bench_search_vs_random.py),
    seeded; a search sharing another's result folders scores nothing twice."""
    import optuna

    shared = tmp_path / 'scores'
    s, a = _search(setup, tmp_path / 'a', 4, results_dir=str(shared))
    assert isinstance(s.sampler(), optuna.samplers.NSGAIISampler)
    cfg, ckpt = setup
    cfg = Config(cfg.to_dict())
    cfg.merge_from_dict({'subnet_search.n_trials': 4, 'subnet_search.sampler': 'random'})
    r = SubnetSearch(cfg, ckpt, str(tmp_path / 'r'), results_dir=str(shared))
    assert isinstance(r.sampler(), optuna.samplers.RandomSampler)
    calls = []
    evaluate = r.evaluate
    r.evaluate = lambda arch, d: calls.append(arch) or evaluate(arch, d)
    study = r.run()
    done = _evaluated(study)
    assert len(done) == 4 and len(calls) == len(set(done) - set(_evaluated(a)))
    r2 = SubnetSearch(cfg, ckpt, str(tmp_path / 'r2'), results_dir=str(shared))
    assert _evaluated(r2.run()) == done  # seeded: the same draws
    cfg.merge_from_dict({'subnet_search.sampler': 'bayes'})
    with pytest.raises(ValueError, match="unknown search sampler 'bayes'"):
        SubnetSearch(cfg, ckpt, str(tmp_path / 'x')).open()


def test_latency_objective_fits_once_and_minimises_predicted_latency(setup, tmp_path, monkeypatch):
    """subnet_search.objective='latency': a latency model fitted to measured subnets (stored,
    reused on resume) prices every proposal; FLOPs stay an attribute."""
    import smnas.evaluation.latency_model as lm
    from smnas.modular import export_finalists

    cfg, ckpt = setup
    cfg = Config(cfg.to_dict())
    cfg.merge_from_dict({'subnet_search.n_trials': 4, 'subnet_search.objective': 'latency',
                         'subnet_search.latency_fit': 6, 'subnet_search.latency_rounds': 2,
                         'subnet_search.latency_repeats': 1})
    calls = []
    real = lm.measure_subnets_ms

    def measure(*a, **kw):
        calls.extend(a[2])
        runs = real(*a, **kw)
        assert all(len(r) == 2 for r in runs.values())  # one median per round
        return runs
    monkeypatch.setattr(lm, 'measure_subnets_ms', measure)
    s = SubnetSearch(cfg, ckpt, str(tmp_path / 'w'))
    assert len(calls) == 6 and (tmp_path / 'w' / 'latency_model.json').is_file()
    study = s.run()
    done = [t for t in study.trials if t.state.name == 'COMPLETE']
    assert len(done) == 4
    for t in done:
        assert t.values[1] == pytest.approx(s.latency.predict(t.user_attrs['arch']))
        assert t.user_attrs['flops'] == s.table.flops(t.user_attrs['arch'])
    assert s.format_cost(12.34) == '12.3 ms'
    records = export_finalists(s, study, 2)
    assert all(r.gflops == pytest.approx(s.table.flops(r.arch) / 1e9) for r in records)
    SubnetSearch(cfg, ckpt, str(tmp_path / 'w'))  # resumed: the stored model, nothing measured
    assert len(calls) == 6
    cfg.merge_from_dict({'subnet_search.objective': 'energy'})
    with pytest.raises(ValueError, match="'flops' or 'latency'"):
        SubnetSearch(cfg, ckpt, str(tmp_path / 'x'))


def test_the_first_generation_is_spread_over_the_flops(setup, tmp_path):
    """``init='spread'`` (the default): NSGA-II's first generation is the min and max subnets
    and FLOPs quantiles between them; ``init='random'`` and the random baseline draw it."""
    def first_generation(work, **opts):
        cfg, ckpt = setup
        cfg = Config(cfg.to_dict())
        cfg.merge_from_dict({f'subnet_search.{k}': v for k, v in dict(n_trials=5, **opts).items()})
        s = SubnetSearch(cfg, ckpt, str(work))
        trials = sorted(s.run().get_trials(deepcopy=False), key=lambda t: t.number)
        return s, [t.user_attrs['arch'] for t in trials[:4]]

    s, first = first_generation(tmp_path / 'spread')
    spread = [str(s.space.compose(p)) for p in s.initial_population(4)]
    assert first == spread and len(set(spread)) == 4
    # the ends first (a search stopped after two has covered the range), then between them
    assert spread[:2] == [str(s.space.min_subnet()), str(s.space.max_subnet())]
    flops = [s.table.flops(a) for a in spread]
    assert flops[0] < min(flops[2:]) and max(flops[2:]) < flops[1]
    _, again = first_generation(tmp_path / 'again')
    assert again == first  # seeded
    _, drawn = first_generation(tmp_path / 'random-init', init='random')
    _, baseline = first_generation(tmp_path / 'random', sampler='random')
    assert drawn != spread and baseline != spread
    with pytest.raises(ValueError, match="search init must be 'spread' or 'random'"):
        first_generation(tmp_path / 'bad', init='latin')


def test_a_few_shot_supernet_scores_each_subnet_with_its_parts_weights(setup, tmp_path):
    """Several checkpoints, one per part of a neck split: each subnet is scored (and its
    finalist exported) with its part's weights, switching back and forth; a study scored
    with one supernet is not resumed with parts."""
    from smnas.evaluation.inherited import InheritedEvaluator
    from smnas.modular import export_finalists
    from smnas.modular.parts import InvalidParts

    cfg, ckpt = setup
    cfg = Config(cfg.to_dict())
    cfg.merge_from_dict({'subnet_search.n_trials': 6, 'subnet_search.score': 'val_loss',
                         'subnet_search.map_of': 'every'})
    space = dict(cfg.model.space)
    parts = {}
    for i, neck in enumerate(space['neck_channels']):
        model = build_detector(cfg.model, seed=10 + i)  # each part its own weights
        parts[neck] = str(tmp_path / f'part_n{neck}.pth')
        meta = dict(supernet_space=space, supernet_part=dict(neck_channels=[neck]))
        torch.save(dict(state_dict=model.state_dict(), meta=meta), parts[neck])
    s = SubnetSearch(cfg, list(parts.values()), str(tmp_path / 'w'))
    study = s.run()
    done = {a: o for a, o in arch_outcomes(study).items() if o['state'] == 'complete'}
    assert {Subnet.parse(a).neck for a in done} == set(parts)  # both parts scored
    seed = int(s.opts['seed'])
    alone = {n: InheritedEvaluator(cfg, p, str(tmp_path / f'alone{n}'), batch_size=s.evaluator.batch_size)
             for n, p in parts.items()}
    for arch, o in done.items():
        loss = alone[Subnet.parse(arch).neck].val_loss(arch, seed=seed)
        assert o['attrs']['val_loss'] == pytest.approx(loss, rel=1e-5)
    assert study.user_attrs['meta']['scoring'] == {'few_shot': 'neck_channels'}
    for f in export_finalists(s, study, k=2):
        weights = torch.load(f.checkpoint, map_location='cpu', weights_only=False)['state_dict']
        own = torch.load(parts[Subnet.parse(f.arch).neck], map_location='cpu',
                         weights_only=False)['state_dict']
        key = next(k for k in weights if k.startswith('roi_head.bbox_head') and k.endswith('weight'))
        w = weights[key]
        assert torch.equal(w, own['architecture.' + key][tuple(slice(0, n) for n in w.shape)])
    with pytest.raises(ValueError, match='scored its subnets with'):
        SubnetSearch(cfg, ckpt, str(tmp_path / 'w')).open()
    with pytest.raises(InvalidParts, match='of the space only'):
        SubnetSearch(cfg, parts[space['neck_channels'][0]], str(tmp_path / 'x'))


def test_an_ensemble_ranks_by_the_mean_blend_and_keeps_each_supernets(setup, tmp_path):
    """score='box_blend' with two supernets and a stored scale (a resumed search's
    box_blend.json): each subnet's value is the blend of its mean scores, which is the mean of
    the supernets' blends, each kept beside its scores."""
    cfg, ckpt = setup
    cfg = Config(cfg.to_dict())
    cfg.merge_from_dict({'subnet_search.n_trials': 2, 'subnet_search.score': 'box_blend'})
    other = str(tmp_path / 'seed1.pth')
    torch.save(dict(state_dict=build_detector(cfg.model, seed=11).state_dict(),
                    meta=dict(supernet_space=dict(cfg.model.space))), other)
    (tmp_path / 'w').mkdir()
    (tmp_path / 'w' / 'box_blend.json').write_text(json.dumps(dict(scale=0.5, subnets={})))
    s = SubnetSearch(cfg, [[ckpt], [other]], str(tmp_path / 'w'))
    study = s.run()
    assert study.user_attrs['meta']['scoring'] == {'ensemble': 2, 'val_loss_terms': ['*loss_bbox'],
                                                   'box_blend_scale': 0.5}
    done = {a: o for a, o in arch_outcomes(study).items() if o['state'] == 'complete'}
    assert len(done) == 2
    for arch, o in done.items():
        stored = json.loads((s.results_dir / arch / 'result.json').read_text())
        members = stored['member_scores']
        each = [m['mAP'] - 0.5 * m['val_loss'] for m in members]
        assert [m['box_blend'] for m in members] == pytest.approx(each)
        assert o['values'][0] == pytest.approx(stored['box_blend'])
        assert stored['box_blend'] == pytest.approx(sum(m['box_blend'] for m in members) / 2)
        assert members[0]['val_loss'] != pytest.approx(members[1]['val_loss'], rel=1e-3)


def test_an_ensemble_scores_each_subnet_by_its_mean_over_the_supernets(setup, tmp_path):
    """--checkpoint once per supernet: each subnet's loss (the study's value) and the front's
    mAP (scored after the search) are the means of its scores with each supernet's weights,
    each stored; the finalists take the first supernet's weights; a study scored with one
    supernet is not resumed with the ensemble."""
    from smnas.evaluation.inherited import InheritedEvaluator
    from smnas.modular import export_finalists

    cfg, ckpt = setup
    cfg = Config(cfg.to_dict())
    cfg.merge_from_dict({'subnet_search.n_trials': 3, 'subnet_search.score': 'val_loss',
                         'subnet_search.map_of': 'front'})
    other = str(tmp_path / 'seed1.pth')
    meta = dict(supernet_space=dict(cfg.model.space))
    torch.save(dict(state_dict=build_detector(cfg.model, seed=11).state_dict(), meta=meta), other)
    s = SubnetSearch(cfg, [[ckpt], [other]], str(tmp_path / 'w'))
    study = s.run()
    assert study.user_attrs['meta']['scoring'] == {'ensemble': 2}
    assert study.user_attrs['meta']['checkpoint'] == [ckpt, other]
    seed = int(s.opts['seed'])
    alone = [InheritedEvaluator(cfg, p, str(tmp_path / f'alone{i}'), batch_size=s.evaluator.batch_size)
             for i, p in enumerate((ckpt, other))]
    done = {a: o for a, o in arch_outcomes(study).items() if o['state'] == 'complete'}
    assert len(done) == 3
    for arch, o in done.items():
        losses = [e.val_loss(arch, seed=seed) for e in alone]
        assert losses[0] != pytest.approx(losses[1], rel=1e-3)  # two supernets, two scores
        assert -o['values'][0] == pytest.approx(sum(losses) / 2, rel=1e-5)
        stored = json.loads((s.results_dir / arch / 'result.json').read_text())
        assert [m['val_loss'] for m in stored['member_scores']] == pytest.approx(losses, rel=1e-5)
    front = [a for a, _, _ in s.front(study)]
    for arch in front:  # the front's mAP: each supernet's, then their mean
        stored = json.loads((s.results_dir / arch / 'result.json').read_text())
        maps = [e.evaluate(arch)['mAP'] for e in alone]
        assert [m['mAP'] for m in stored['member_scores']] == pytest.approx(maps, abs=1e-6)
        assert stored['mAP'] == pytest.approx(sum(maps) / 2, abs=1e-6)
        assert all('val_loss' in m for m in stored['member_scores'])  # kept beside each mAP
    for f in export_finalists(s, study, k=1):
        weights = torch.load(f.checkpoint, map_location='cpu', weights_only=False)['state_dict']
        first = torch.load(ckpt, map_location='cpu', weights_only=False)['state_dict']
        key = next(k for k in weights if k.startswith('roi_head.bbox_head') and k.endswith('weight'))
        w = weights[key]
        assert torch.equal(w, first['architecture.' + key][tuple(slice(0, n) for n in w.shape)])
    # the report says how alike the two rank the subnets they scored, by the search's score
    from smnas.modular.ensemble import members_agreement
    from smnas.reports.subnet import write_subnet_report

    report = write_subnet_report(s, study)['report'].read_text()
    section = report[report.index('## Supernet ensemble'):]
    losses = [json.loads((s.results_dir / a / 'result.json').read_text())['member_scores'] for a in done]
    agreement = members_agreement([[m[i]['val_loss'] for m in losses] for i in range(2)])
    assert 'Over the 3 subnets they all scored' in section
    assert f'Kendall tau {agreement["kendall_tau"]:.3f}' in section
    with pytest.raises(ValueError, match='scored its subnets with'):
        SubnetSearch(cfg, ckpt, str(tmp_path / 'w')).open()
