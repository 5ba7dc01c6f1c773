"""The other benchmarks run end to end at toy scale (their numbers come from real runs)."""
import json
import shutil
import subprocess
import sys

import pytest
import torch

from smnas.testing import config_path
from smnas.utils.paths import REPO_ROOT

from .tool_helpers import TINY_BENCH_SPACE, load_bench, run_tool, tiny_options


@pytest.mark.slow  # 110 s on 2 cores: six trainings and two retrainings in subprocesses
def test_searched_vs_hand_designed_table(tiny_data, tmp_path):
    cfg = str(config_path('supernet/quickstart_synthetic.py'))
    opts = ['--cfg-options', *tiny_options(tiny_data, 2), *TINY_BENCH_SPACE, 'subnet_search.n_trials=2',
            'subnet_search.population_size=2']
    run_tool('tools/train_supernet.py', cfg, '--work-dir', str(tmp_path / 'sn'), *opts)
    search = tmp_path / 'search'
    run_tool('tools/search_subnet.py', cfg, '--checkpoint', str(tmp_path / 'sn' / 'iter_2.pth'),
             '--work-dir', str(search), '--finalists', '1', *opts)
    run_tool('tools/retrain.py', str(search), '--iters', '3')
    log = run_tool('benchmarks/bench_searched_vs_hand.py', str(search), '--baselines', 'r18',
                   '--json', str(tmp_path / 'results.json'))
    out = json.loads((search / 'searched_vs_hand.json').read_text())
    assert json.loads((tmp_path / 'results.json').read_text()) == out and (tmp_path / 'results.png').is_file()
    assert out['schedule']['iters'] == 3 and 'torch' in out['versions']
    kinds = {p['name']: p['kind'] for p in out['points']}
    assert kinds == {'E0': 'searched', 'R18': 'hand-designed'}
    r18 = next(p for p in out['points'] if p['name'] == 'R18')
    assert r18['arch'] == 'r18_fpn-p2p5-p6_rpn_rcnn_96x64' and r18['gflops'] > 0
    # trained like the finalists: 3 iterations, not the supernet's 2
    assert json.loads((search / 'hand_designed' / 'r18' / 'result.json').read_text())['iters'] == 3
    assert json.loads((search / 'finalists' / 'finalists.json').read_text())[0]['retrain_iters'] == 3
    assert set(out['dominated_by']) == {'E0', 'R18'} and '| R18 |' in log
    # every model again with a second seed: the table compares means, with their std
    log = run_tool('benchmarks/bench_searched_vs_hand.py', str(search), '--baselines', 'r18', '--seeds', '2',
                   '--json', str(tmp_path / 'results.json'))
    out = json.loads((search / 'searched_vs_hand.json').read_text())
    assert log.count(': seed 1') == 2 and 'mean of 2 seeds' in log and out['seeds'] == 2 and out['complete']
    for pt in out['points']:
        assert set(pt['mAP_by_seed']) == {'0', '1'} and pt['mAP_std'] is not None
        assert pt['mAP'] == pytest.approx(sum(pt['mAP_by_seed'].values()) / 2)
    assert (search / 'finalists' / 'E0' / 'retrain_seed1' / 'result.json').is_file()
    assert (search / 'hand_designed' / 'r18_seed1' / 'result.json').is_file()
    assert (search / 'searched_vs_hand.png').is_file()
    # A new machine: the search dir is gone, the same finalist is given again; the results
    # file is the record, so nothing trains again and the table is the same.
    e0 = next(p['arch'] for p in out['points'] if p['name'] == 'E0')
    log = run_tool('benchmarks/bench_searched_vs_hand.py', str(tmp_path / 'again'), '--config', cfg,
                   '--subnets', e0, '--baselines', 'r18', '--seeds', '2', '--iters', '3',
                   '--json', str(tmp_path / 'results.json'), *opts)
    assert log.count('recorded mAP') == 4 and not any(': seed' in line for line in log.splitlines())
    rerun = json.loads((tmp_path / 'again' / 'searched_vs_hand.json').read_text())
    assert {p['name']: p['mAP'] for p in rerun['points']} == {p['name']: p['mAP'] for p in out['points']}


def test_a_table_mid_run_says_how_many_seeds_each_mean_has(tmp_path):
    bench = load_bench('bench_searched_vs_hand')

    def point(name, maps):
        runs = {str(k): dict(mAP=m, mAP_50=0.8, gflops=3.0 + k, params_m=4.0, latency_ms=100.0)
                for k, m in enumerate(maps)}
        return dict(name=name, kind='searched', arch=name.lower(), runs=runs)

    meta = dict(schedule=dict(iters=3, overrides={}), input_size=[96, 64], versions={})
    out = bench.write_results([point('E0', [0.5, 0.4]), point('R18', [0.6])], 2, tmp_path, meta, None,
                              final=False)
    table = (tmp_path / 'searched_vs_hand.md').read_text()
    assert 'mean of the seeds trained so far' in table and 'mean of 2 seeds' not in table
    assert '| 0.4500 | 0.0707 | 2 |' in table and '| 0.6000 | - | 1 |' in table
    assert not out['complete'] and out['points'][0]['gflops'] == 3.0  # seed 0's measurements
    bench.write_results([point('E0', [0.5, 0.4]), point('R18', [0.6, 0.5])], 2, tmp_path, meta, None,
                        final=False)
    assert 'mean of 2 seeds' in (tmp_path / 'searched_vs_hand.md').read_text()


def test_channel_importance_measures_the_leading_share():
    bench = load_bench('channel_importance')
    sd = {'architecture.backbone.stages.0.0.gn2.weight': torch.tensor([0.9, -0.8, 0.1, 0.2]),  # ordered
          'architecture.neck.fpn_convs.0.gn.weight': torch.tensor([0.1, 0.2, 0.9, 0.8]),  # reversed
          'architecture.backbone.stages.0.0.proj_gn.weight': torch.ones(4),  # no order to sort by
          'architecture.backbone.stages.0.0.conv1.weight': torch.ones(4, 4, 3, 3),  # not a norm
          'architecture.roi_head.bbox_head.fc_cls.bias': torch.ones(4)}  # not backbone or neck
    scales = bench.gn_scales(sd)
    assert set(scales) == {'architecture.backbone.stages.0.0.gn2', 'architecture.neck.fpn_convs.0.gn',
                           'architecture.backbone.stages.0.0.proj_gn'}
    rows = {k: bench.leading_share(v) for k, v in scales.items()}
    assert rows['architecture.backbone.stages.0.0.gn2'] == dict(
        channels=4, leading_mean=pytest.approx(0.85), trailing_mean=pytest.approx(0.15),
        min=pytest.approx(0.1), max=pytest.approx(0.9), top_in_leading=1.0)
    assert rows['architecture.neck.fpn_convs.0.gn']['top_in_leading'] == 0.0
    assert rows['architecture.backbone.stages.0.0.proj_gn']['top_in_leading'] is None
    summary = bench.summarize(rows)
    assert summary['residual branch ends (gn2)'] == dict(
        norms=1, top_in_leading=1.0, leading_over_trailing=pytest.approx(0.85 / 0.15),
        range=[pytest.approx(0.1), pytest.approx(0.9)])
    assert summary['other norms']['norms'] == 1  # the constant one has no order and is left out


def test_structural_fidelity_bench_compares_both_searches_at_one_budget(tmp_path, monkeypatch):
    """With the stand-in trainer of the halving tests: both searches run, halving sees
    more candidates for no more iterations, and the JSON holds both fronts and the noise."""
    from smnas.search import structural

    from .search.test_halving import fake_run

    log = tmp_path / 'calls.txt'
    monkeypatch.setattr(structural, 'run_trial_subprocess', fake_run)
    monkeypatch.setattr(sys, 'argv', [
        'bench', str(config_path('structural/quickstart_synthetic.py')), '--work-dir', str(tmp_path / 'w'),
        '--trials', '3', '--json', str(tmp_path / 'r.json'),
        '--cfg-options', 'search.num_classes=5', f'fake_log={log}'])
    load_bench('bench_structural_fidelity').main()
    r = json.loads((tmp_path / 'r.json').read_text())
    fixed, halving = r['searches']['fixed'], r['searches']['halving']
    assert fixed['candidates'] == 3 and halving['candidates'] > 3
    assert halving['train_iters'] <= fixed['train_iters']
    assert fixed['front'] and halving['front'] and fixed['hypervolume'] > 0
    assert r['noise'] and len(r['noise']['mAPs']) == 3


def test_search_vs_random_gives_every_method_the_same_budget(tmp_path):
    """Every method evaluates the same number of subnets per seed, scores are shared (a rerun
    scores nothing), the search starts from the min and max subnets, and the JSON carries one
    hypervolume per seed and method."""
    from supernet.space import ModularSpace

    from .search.test_subnet_search import tiny_supernet

    cfg, ckpt = tiny_supernet(tmp_path)
    config = tmp_path / 'supernet.py'
    cfg.dump(str(config))
    bench = load_bench('bench_search_vs_random')
    args = [str(config), '--checkpoint', ckpt, '--work-dir', str(tmp_path / 'svr'), '--evals', '4',
            '--seeds', '2', '--population', '2', '--exhaustive', 'no', '--json', str(tmp_path / 'out.json')]
    out = bench.main(args)
    assert json.loads((tmp_path / 'out.json').read_text())['search_hv'] == out['search_hv']
    for key in ('search_hv', 'random_hv', 'flops_hv', 'uniform_init_hv'):
        assert len(out[key]) == 2 and all(hv >= 0 for hv in out[key])
    assert {r['evaluated'] for m in bench.METHODS for r in out['runs'][m].values()} == {4}
    # The cheapest subnet evaluated is on every front: the min subnet, for a search that
    # starts from it.
    smallest = str(ModularSpace.from_dict(out['space']).min_subnet())
    for seed in (0, 1):
        assert smallest in [a for a, _, _ in out['runs']['nsga2'][seed]['front']]
    scored = sorted(p.name for p in (tmp_path / 'svr' / 'scores').iterdir())
    again = bench.main(args)
    assert sorted(p.name for p in (tmp_path / 'svr' / 'scores').iterdir()) == scored
    assert again['search_hv'] == out['search_hv'] and again['random_hv'] == out['random_hv']


def _recording_python(tmp_path, answer: str = ''):
    """A stand-in for Python that appends its command line to a log (and runs the shell line
    ``answer``): (the log, the stand-in), for running a benchmark script's steps instantly."""
    log = tmp_path / 'calls'
    fake = tmp_path / 'py'
    fake.write_text(f'#!/bin/sh\necho "$*" >> {log}\n{answer}\n')
    fake.chmod(0o755)
    return log, fake


def test_rank_synthetic_all_runs_every_step_with_flags_the_bench_has(tmp_path):
    """benchmarks/rank_synthetic_all.sh with a recording stand-in for Python: the truth first,
    then the base supernet and every recipe, all on one work dir and record, and every flag it
    passes is one bench_rank_fidelity.py accepts (a renamed flag would fail hours in)."""
    import os
    import re

    log, fake = _recording_python(tmp_path)
    subprocess.run(['bash', 'benchmarks/rank_synthetic_all.sh'], cwd=REPO_ROOT, check=True, timeout=60,
                   env=dict(os.environ, PY=str(fake)), capture_output=True)
    calls = log.read_text().splitlines()
    assert len(calls) == 18
    assert '--truth-first' in calls[0] and all('--truth-first' not in c for c in calls[1:])
    assert [re.search(r'--variant (\S+)', c)[1] if '--variant' in c else None for c in calls] == [
        None, None, 'per_weight', 'ft50', 'no_extremes', 'fewshot_neck', 'distill_outputs', 'ft50_distill',
        'fewshot_distill', 'distill_outputs_seed1', 'fair', 'distill_fairneck', 'distill_outputs_seed2',
        'max_fair', 'ft50_distill_seed2', 'distill_outputs_seed3', 'distill_outputs_seed4', None]
    assert "model.extremes=[]" in calls[4]  # quoted for the shell, one option for the bench
    # base and the recipes measured against it pin the sandwich they trained, whatever the
    # configs' default; no_extremes is the configs' recipe, distillation adds the max member
    pinned = [i for i, c in enumerate(calls) if 'model.extremes=[max,min] model.num_random_subnets=1' in c]
    assert pinned == [1, 2, 3, 5, 10, 17]
    assert all('model.distill=False' in calls[i] for i in (1, 2, 3, 4, 5, 10, 13, 17))
    # the default's sampling without its teacher
    assert ('model.extremes=[max] model.num_random_subnets=2 model.sampling=fair model.distill=False'
            in calls[13])
    # the recipes on top of distillation start from its supernet, with its recipe
    assert all('model.extremes=[max] model.num_random_subnets=2 model.sampling=fair model.distill=outputs'
               in calls[i] for i in (6, 7, 8, 9, 11, 12, 15, 16))
    # and one whose teacher walks its neck through every width, a supernet of its own
    assert "model.max_sampled=[neck]" in calls[11] and '--supernet-of' not in calls[11]
    # the default recipe again with other seeds
    assert 'model.seed=1 randomness.seed=1' in calls[9] and '--supernet-of' not in calls[9]
    assert 'model.seed=2 randomness.seed=2' in calls[12] and '--supernet-of' not in calls[12]
    assert all(f'model.seed={s} randomness.seed={s}' in calls[i] and '--supernet-of' not in calls[i]
               for s, i in ((3, 15), (4, 16)))
    assert '--supernet-of distill_outputs --finetune-iters 50' in calls[7]
    # and on the third seed's supernet, with that seed's options
    assert ('--supernet-of distill_outputs_seed2 --finetune-iters 50' in calls[14]
            and 'model.distill=outputs model.seed=2 randomness.seed=2' in calls[14])
    assert '--supernet-of distill_outputs --few-shot neck' in calls[8]
    assert '--summary-only' in calls[-1]
    common = ('--work-dir benchmarks/runs/rank_truth24', '--json benchmarks/results/rank_fidelity.json',
              '--scratch-seeds 4', '--score-jobs 1')
    assert all(o in c for c in calls for o in common)
    help_text = subprocess.run([sys.executable, 'benchmarks/bench_rank_fidelity.py', '--help'], cwd=REPO_ROOT,
                               capture_output=True, text=True, check=True, timeout=120).stdout
    flags = {f for c in calls for f in re.findall(r'(--[a-z][a-z-]+)', c)}
    assert flags and all(f in help_text for f in flags), flags
    # STEPS picks steps
    log.unlink()
    subprocess.run(['bash', 'benchmarks/rank_synthetic_all.sh'], cwd=REPO_ROOT, check=True, timeout=60,
                   env=dict(os.environ, PY=str(fake), STEPS='fair summary'), capture_output=True)
    assert [('--variant fair' in c, '--summary-only' in c) for c in log.read_text().splitlines()] == [
        (True, False), (False, True)]
    # SEEDS sets the truth's seeds per subnet
    log.unlink()
    subprocess.run(['bash', 'benchmarks/rank_synthetic_all.sh'], cwd=REPO_ROOT, check=True, timeout=60,
                   env=dict(os.environ, PY=str(fake), STEPS='truth', SEEDS='3', SCORE_JOBS='2'),
                   capture_output=True)
    assert '--scratch-seeds 3' in log.read_text() and '--score-jobs 2' in log.read_text()


def test_bccd_all_pins_the_recipe_its_record_was_trained_with(tmp_path):
    """benchmarks/bccd_all.sh with a recording stand-in for Python: every supernet it trains
    (base, its recipes) pins the sandwich its record holds, whatever the configs' default, and
    each recipe's own option comes after it (so it wins)."""
    import os

    # the finalists' step reads the record through Python: answer it with one subnet
    log, fake = _recording_python(tmp_path, 'case "$*" in *json.load*) echo 48_1-2-2-2;; esac')
    subprocess.run(['bash', 'benchmarks/bccd_all.sh'], cwd=REPO_ROOT, check=True, timeout=60,
                   env=dict(os.environ, PY=str(fake)), capture_output=True)
    rank = [c for c in log.read_text().splitlines() if 'bench_rank_fidelity.py' in c]
    assert len(rank) == 5
    sandwich = ('model.extremes=[max,min] model.num_random_subnets=1 model.sampling=uniform '
                'model.distill=False')
    assert all(sandwich in c for c in rank)
    assert rank[2].endswith(sandwich + ' model.distill=True')
    assert rank[3].endswith('model.num_random_subnets=3')


def test_record_quickstart_trial_reads_a_run_and_keeps_the_others(tmp_path):
    """A finished run's work dir becomes one entry of the trials record; earlier entries stay."""
    wd = tmp_path / 'run'
    (wd / 'search' / 'finalists').mkdir(parents=True)
    (wd / 'structural').mkdir()
    (wd / 'pipeline.json').write_text(json.dumps(dict(versions={'torch': 'x'}, stages=dict(
        structural=dict(seconds=60.0, structure='r18_fpn-p2p5-p6_rpn_rcnn_1080x720'),
        supernet=dict(seconds=30.5, input_size=[160, 96]), retrain=dict(seconds=9.5)))))
    (wd / 'search' / 'finalists' / 'finalists.json').write_text(json.dumps([
        dict(name='E0', arch='a', mAP_retrained=0.3, mAP_se_retrained=0.01, config='not kept')]))
    (wd / 'report.md').write_text('# x\n- E1 - E0: +0.1 mAP (paired bootstrap ...): beyond noise\n- other\n')
    (wd / 'structural' / 'fidelity.json').write_text(json.dumps(dict(rungs=[dict(iters=50, results=[
        dict(arch='s', mAP=0.05, mAP_se=0.003, latency_ms=20.0, train_seconds=9.0)])])))
    out = tmp_path / 'trials.json'
    out.write_text(json.dumps(dict(runs=dict(old=dict(note='kept')))))
    run_tool('benchmarks/record_quickstart_trial.py', str(wd), '--name', 'new', '--note', 'n',
             '--json', str(out))
    runs = json.loads(out.read_text())['runs']
    assert runs['old'] == dict(note='kept')
    new = runs['new']
    assert new['total_seconds'] == 100.0 and new['input_size'] == [160, 96]
    assert new['comparisons'] == ['E1 - E0: +0.1 mAP (paired bootstrap ...): beyond noise']
    assert new['finalists'][0]['mAP_se_retrained'] == 0.01 and 'config' not in new['finalists'][0]
    assert new['structural_halving'] == [dict(iters=50, results=[dict(arch='s', mAP=0.05, mAP_se=0.003,
                                                                      latency_ms=20.0)])]


def test_record_retrain_sets_trainings_beside_the_truth_and_keeps_other_runs(tmp_path):
    """A retraining's result lands under runs[NAME][ARCH] with the truth's seeds and the
    difference from their mean; another name's entry stays; a work dir without a finished
    training is refused by name."""
    bench = load_bench('record_retrain')
    wd = tmp_path / 'long'
    (wd / 'finalists').mkdir(parents=True)
    arch = '48_1-2-2-2_n128_h128'
    (wd / 'finalists' / 'finalists.json').write_text(json.dumps([
        dict(name='E0', arch=arch, config='E0.py', input_size=[160, 120], mAP_retrained=0.62,
             mAP_se_retrained=0.005, retrain_iters=1500, train_seconds=9.0, gflops_thop=0.96)]))
    truth = tmp_path / 'truth.json'
    truth.write_text(json.dumps(dict(subnets={arch: {'mAP_scratch_seeds': {'0': 0.39, '1': 0.38}}},
                                     scratch_schedule=dict(iters=300))))
    out = tmp_path / 'out.json'
    out.write_text(json.dumps(dict(runs=dict(other=dict(subnets={})))))
    rec = bench.main([str(wd), '--name', 'iters1500', '--json', str(out), '--truth', str(truth),
                      '--command', 'retrain ...'])
    run = rec['runs']['iters1500']
    r = run['subnets'][arch]
    assert r['truth_mAP_mean'] == pytest.approx(0.385) and r['minus_truth_mean'] == pytest.approx(0.235)
    assert r['truth_iters'] == 300 and r['iters'] == 1500
    assert json.loads(out.read_text()) == rec and 'other' in rec['runs']
    assert run['commands'] == ['retrain ...'] and 'torch' in run['versions']
    with pytest.raises(SystemExit, match='no finished retraining'):
        bench.main([str(tmp_path / 'empty'), '--name', 'x', '--json', str(out)])


def test_record_train_scalars_keeps_the_chosen_scalars_by_iteration(tmp_path):
    """The chosen scalars of a run's logged training steps land under runs[NAME] by
    iteration (validation rows skipped, a resumed run's later log wins); another name's
    entry stays; a key never logged or a dir without a log is refused by name."""
    bench = load_bench('record_train_scalars')
    wd = tmp_path / 'run'
    first = [dict(iter=25, grad_norm=3.0, a=0.1), dict(iter=50, grad_norm=9.0)]
    resumed = [dict(iter=50, grad_norm=4.0, a=0.2), {'coco/bbox_mAP': 0.3}]
    for stamp, rows in (('20260101_000000', first), ('20260102_000000', resumed)):
        (wd / stamp / 'vis_data').mkdir(parents=True)
        (wd / stamp / 'vis_data' / 'scalars.json').write_text('\n'.join(json.dumps(r) for r in rows))
    out = tmp_path / 'out.json'
    out.write_text(json.dumps(dict(runs=dict(other={}))))
    rec = bench.main([str(wd), '--name', 'kept', '--keys', 'grad_norm', 'a', '--json', str(out),
                      '--command', 'train ...'])
    assert rec['runs']['kept']['scalars'] == dict(grad_norm={'25': 3.0, '50': 4.0}, a={'25': 0.1, '50': 0.2})
    assert json.loads(out.read_text()) == rec and 'other' in rec['runs'] and 'torch' in rec['versions']
    assert rec['runs']['kept']['command'] == 'train ...'
    with pytest.raises(SystemExit, match="never logged \\['b'\\]"):
        bench.main([str(wd), '--name', 'x', '--keys', 'b', '--json', str(out)])
    with pytest.raises(SystemExit, match='no training log'):
        bench.main([str(tmp_path / 'empty'), '--name', 'x', '--keys', 'a', '--json', str(out)])


def test_score_against_truth_scores_both_ways_resumes_and_refuses_another_checkpoint(tmp_path, capsys):
    """benchmarks/score_against_truth.py: every subnet of the truth record scored by mAP and
    val loss (the loss as the evaluator computes it), the truth the mean of the record's
    seeds, the agreement of each score; a rerun scores nothing again."""
    import itertools

    from smnas.evaluation.inherited import InheritedEvaluator
    from supernet.space import ModularSpace
    from tests.search.test_subnet_search import tiny_supernet

    bench = load_bench('score_against_truth')
    cfg, ckpt = tiny_supernet(tmp_path / 'data', num_val=3)
    cfg_path = tmp_path / 'cfg.py'
    cfg.dump(str(cfg_path))
    space = ModularSpace.from_dict(dict(cfg.model.space))
    archs = [str(s) for s in itertools.islice(space.all(), 4)]
    seeds = {a: {'0': 0.1 * i, '1': 0.1 * i + 0.02, '2': 0.9} for i, a in enumerate(archs)}
    truth = tmp_path / 'truth.json'
    truth.write_text(json.dumps(dict(truth_seeds=['0', '1'],
                                     subnets={a: dict(mAP_scratch_seeds=s) for a, s in seeds.items()})))
    out = tmp_path / 'scores.json'
    argv = [str(cfg_path), ckpt, '--truth', str(truth), '--json', str(out), '--work-dir', str(tmp_path / 'w')]
    rec = bench.main(argv)
    assert sorted(rec['subnets']) == sorted(archs) and rec['val_images'] == 3
    ev = InheritedEvaluator(cfg, ckpt, str(tmp_path / 'e'))
    for i, a in enumerate(archs):
        r = rec['subnets'][a]
        assert r['truth_mAP'] == pytest.approx(0.1 * i + 0.01)  # seed 2 is not a truth seed
        assert r['val_loss'] == pytest.approx(ev.val_loss(a, seed=0), rel=1e-5)
        assert r['mAP'] == pytest.approx(ev.evaluate(a)['mAP'])
    assert set(rec['by_score']) == {'mAP', 'val_loss', 'blend', 'box_blend'}
    assert 'tau_minus_mAP' in rec['by_score']['val_loss']
    assert json.loads(out.read_text())['by_score'] == json.loads(json.dumps(rec['by_score']))
    capsys.readouterr()
    bench.main(argv)
    assert '[1/4]' not in capsys.readouterr().out  # nothing scored twice
    other = tmp_path / 'other.pth'
    shutil.copy(ckpt, other)
    with pytest.raises(SystemExit, match='holds the scores of'):
        bench.main([str(cfg_path), str(other)] + argv[2:])
    truth.write_text(json.dumps(dict(subnets={archs[0]: dict(mAP_scratch_seeds={'0': 0.1})})))
    with pytest.raises(SystemExit, match='fewer than two subnets'):
        bench.main(argv)


def test_loss_scoring_bench_times_four_ways_that_agree(tmp_path):
    """benchmarks/bench_loss_scoring.py: each subnet scored four ways in interleaved
    rounds; the one-pass, two-pass and lone losses agree (the bench stops if not), and
    the record carries every ratio to the mAP alone."""
    from tests.search.test_subnet_search import tiny_supernet

    bench = load_bench('bench_loss_scoring')
    cfg, ckpt = tiny_supernet(tmp_path / 'data', num_val=3)
    cfg_path = tmp_path / 'cfg.py'
    cfg.dump(str(cfg_path))
    out = tmp_path / 'loss_scoring.json'
    rec = bench.main([str(cfg_path), ckpt, '--subnets', '2', '--rounds', '1', '--json', str(out),
                      '--work-dir', str(tmp_path / 'w')])
    assert len(rec['subnets']) == 2 and json.loads(out.read_text())['mean'] == rec['mean']
    for row in rec['subnets'].values():
        assert set(row['seconds']) == {'mAP', 'one_pass', 'two_passes', 'loss'} and row['val_loss'] > 0
        assert row['loss_over_mAP'] == pytest.approx(row['seconds']['loss'] / row['seconds']['mAP'])
        assert row['one_pass_over_mAP'] == pytest.approx(row['seconds']['one_pass'] / row['seconds']['mAP'])


def test_supernet_step_bench_prices_distillation_against_none(tmp_path):
    """benchmarks/bench_supernet_step.py --sections distill: a sandwich step with each
    distillation mode, interleaved with one without; only the sections asked for run."""
    bench = load_bench('bench_supernet_step')
    out = tmp_path / 'step.json'
    rec = bench.main(['--sections', 'distill', '--size', '64', '--repeats', '1', '--warmup', '0',
                      '--k', '1', '--json', str(out)])
    assert 'step' not in rec and 'ops' not in rec and json.loads(out.read_text()) == rec
    d = rec['distill']
    assert set(d['seconds']) == {'none', 'features', 'outputs'} and all(v > 0 for v in d['seconds'].values())
    assert d['outputs_ratio'] == pytest.approx(d['seconds']['outputs'] / d['seconds']['none'])
    with pytest.raises(SystemExit):
        bench.main(['--sections', 'latency'])


def test_supernet_step_bench_prices_recipes_over_the_same_iterations(tmp_path):
    """--sections recipes: each recipe built from the config with its options, timed over
    the same iterations; a recipe with the max member draws it at every step."""
    bench = load_bench('bench_supernet_step')
    out = tmp_path / 'recipes.json'
    config = str(config_path('supernet/quickstart_synthetic.py'))
    two = ['model.extremes=[]', 'model.num_random_subnets=2', 'model.distill=False']
    rec = bench.main(['--sections', 'recipes', '--config', config, '--steps', '2', '--batch-size', '1',
                      '--json', str(out), '--recipe', 'two', *two,
                      '--recipe', 'max1', 'model.extremes=[max]', 'model.num_random_subnets=1'])
    r = rec['recipes']
    assert set(rec) >= {'recipes'} and 'step' not in rec and json.loads(out.read_text()) == rec
    assert list(r['mean_s']) == ['two', 'max1'] and r['ratio']['two'] == 1.0
    assert r['ratio']['max1'] == pytest.approx(r['mean_s']['max1'] / r['mean_s']['two'])
    assert all(len(r['step_s'][n]) == 2 and all(t > 0 for t in r['step_s'][n]) for n in r['step_s'])
    assert [len(m) for m in r['members']['two']] == [len(m) for m in r['members']['max1']] == [2, 2]
    tops = {m[0] for m in r['members']['max1']}
    assert len(tops) == 1  # the max member, at every step
    assert r['members']['two'][0] != r['members']['two'][1]  # the sampler moves with the iteration
