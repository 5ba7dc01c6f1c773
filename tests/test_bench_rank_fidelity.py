"""benchmarks/bench_rank_fidelity.py end to end at toy scale (its numbers come from real runs),
its steps (smnas.benchmarks.rank_fidelity), and its record restored on a new machine."""
import json
import shutil
import signal
import subprocess
import sys

import pytest

from smnas.benchmarks.rank_fidelity import (RankFidelity, coverage_order, default_variant, scratch_fit_rows,
                                            training_recipe, truth_batches)
from smnas.engine import read_config
from smnas.testing import config_path
from smnas.utils.paths import REPO_ROOT

from .tool_helpers import TINY_BENCH_SPACE, run_tool, tiny_options


@pytest.fixture(scope='module')
def rank_run(tiny_data, tmp_path_factory):
    """One toy rank-fidelity run (3 subnets, a 5-subnet search, one noise seed); each test
    works on its own copy of the work dir."""
    base = tmp_path_factory.mktemp('rank') / 'rank'

    def args(work):
        return ['benchmarks/bench_rank_fidelity.py', str(config_path('supernet/quickstart_synthetic.py')),
                '--work-dir', str(work), '--subnets', '3', '--scratch-iters', '3', '--search-subnets', '5',
                '--noise-seeds', '1', '--cost-json', str(work / 'modular_cost.json'),
                '--jobs', '2',  # the toy trainings side by side: mostly process start-up, one core each
                '--cfg-options', *tiny_options(tiny_data, 2), *TINY_BENCH_SPACE]

    log = run_tool(*args(base))
    out = json.loads((base / 'rank_fidelity.json').read_text())

    def copy(tmp_path):
        work = tmp_path / 'rank'
        shutil.copytree(base, work)
        return work, args(work)

    return dict(log=log, out=out, work=base, copy=copy)


def test_rank_fidelity_scores_subnets_spread_over_flops(rank_run):
    out, work = rank_run['out'], rank_run['work']
    assert 'Kendall tau' in rank_run['log'] and 'modular stage' in rank_run['log']
    assert len(out['subnets']) == 3
    # The reported tau is the one of the reported columns (NaN when a toy run's mAPs tie).
    from scipy.stats import kendalltau
    rows = list(out['subnets'].values())
    ref = kendalltau([r['mAP_inherited'] for r in rows], [r['mAP_scratch_mean'] for r in rows]).statistic
    assert out['kendall_tau'] == pytest.approx(ref, nan_ok=True)
    flops = [r['gflops'] for r in out['subnets'].values()]
    assert len(set(flops)) == 3  # spread over the FLOPs range
    for r in out['subnets'].values():
        assert r['mAP_scratch'] is not None and r['scratch_seconds'] > 0 and r['inherited_seconds'] > 0
        assert abs(r['gflops_thop'] - r['gflops']) <= 0.01 * r['gflops']
    for arch in out['subnets']:  # the common schedule, rescaled from the supernet's 2 iterations
        assert json.loads((work / 'subnets' / arch / 'scratch' / 'result.json').read_text())['iters'] == 3
    assert out['scratch_schedule'] == dict(iters=3, options={})
    assert 'space' in out['supernet_config']['model']
    # the keys, and the other ranking scores (val loss, and its blend with mAP)
    assert out['default_variant'] == 'base' and 'truth_seed_tau' in out
    base = out['variants']['base']
    assert set(base['by_score']) == {'mAP', 'val_loss', 'blend', 'box_blend'}  # a Faster R-CNN: loss_bbox
    assert {'difference', 'beyond_noise'} <= set(base['by_score']['val_loss']['tau_minus_mAP'])
    assert base['by_score']['mAP']['kendall_tau'] == pytest.approx(base['kendall_tau'], nan_ok=True)
    # the min subnet (picked with the max, trained at every sandwich step): its two ranks
    assert base['min_subnet']['of'] == 3 and base['min_subnet']['arch'] in out['subnets']
    assert base['by_score']['mAP']['min_subnet'] == base['min_subnet']
    # the default: the base recipe ranked by the search's default score
    from smnas.search.subnet import SUBNET_DEFAULTS
    score = SUBNET_DEFAULTS['score']
    assert out['default']['variant'] == 'base' and out['default']['score'] == score
    assert out['default']['kendall_tau'] == pytest.approx(base['by_score'][score]['kendall_tau'], nan_ok=True)
    assert base['mean_inherited_mAP_se'] >= 0  # each inherited score bootstrapped over the val images
    inherited = json.loads((work / 'variant_base.json').read_text())['inherited']
    assert all(r['val_loss'] > 0 for r in inherited.values())
    # with its terms, each ranked alone too
    assert all(sum(r['val_loss_terms'].values()) == pytest.approx(r['val_loss'], rel=1e-5)
               for r in inherited.values())
    assert set(base['by_loss_term']) == set(next(iter(inherited.values()))['val_loss_terms'])
    # the finalists each ranking leads to, against the true front (one seed: no interval yet)
    front = out['front_recovery']
    assert set(front['rankings']) == {'base', 'by_cost'} and front['finalists'] == 6
    for r in front['rankings'].values():
        assert set(r['finalists']) <= set(out['subnets']) and 'hv_ratio_ci95' not in r
        assert r['hv_ratio'] != r['hv_ratio'] or 0 <= r['hv_ratio'] <= 1 + 1e-9  # NaN: a flat toy truth
    assert 'random' in front['reference'] and 'seed_vs_rest' not in front['reference']


@pytest.mark.slow  # two trainings in a fresh process (about 40 s); tests/test_gpu_check.py's rank.sh test too
def test_truth_first_trains_the_same_picks_without_a_supernet(rank_run, tiny_data, tmp_path):
    """--truth-first: the from-scratch truth alone (two trainings side by side, --jobs 2)."""
    work = tmp_path / 'truth'
    run_tool('benchmarks/bench_rank_fidelity.py', str(config_path('supernet/quickstart_synthetic.py')),
             '--work-dir', str(work), '--subnets', '2', '--scratch-iters', '2', '--truth-first',
             '--jobs', '2',
             '--cfg-options', *tiny_options(tiny_data, 2), *TINY_BENCH_SPACE)
    out = json.loads((work / 'rank_fidelity.json').read_text())
    assert not (work / 'supernet').exists()
    # min and max by FLOPs: the extremes the full run picked too, priced alike
    assert set(out['subnets']) <= set(rank_run['out']['subnets']) and len(out['subnets']) == 2
    for arch, r in out['subnets'].items():
        assert r['gflops'] == pytest.approx(rank_run['out']['subnets'][arch]['gflops'])
        assert r['mAP_scratch'] is not None and r['mAP_se_scratch'] is not None and 'mAP_inherited' not in r


@pytest.mark.slow  # four trainings in a fresh process
def test_seed_order_subnet_trains_every_seed_of_a_subnet_first(tiny_data, tmp_path):
    work = tmp_path / 'truth'
    log = run_tool('benchmarks/bench_rank_fidelity.py', str(config_path('supernet/quickstart_synthetic.py')),
                   '--work-dir', str(work), '--subnets', '2', '--scratch-iters', '2', '--truth-first',
                   '--scratch-seeds', '2', '--seed-order', 'subnet',
                   '--cfg-options', *tiny_options(tiny_data, 2), *TINY_BENCH_SPACE)
    lines = [ln.split('] ')[1] for ln in log.splitlines() if 'training from scratch' in ln]
    a, b = [ln.split(':')[0] for ln in lines[::2]]
    assert lines == [f'{a}: training from scratch', f'{a}: training from scratch, seed 1',
                     f'{b}: training from scratch', f'{b}: training from scratch, seed 1']
    out = json.loads((work / 'rank_fidelity.json').read_text())
    assert all(set(r['mAP_scratch_seeds']) == {'0', '1'} for r in out['subnets'].values())


def test_rank_fidelity_prices_the_modular_stage(rank_run):
    stage = rank_run['out']['modular_stage']
    assert stage['searched_subnets'] == 5 and stage['search_seconds'] >= stage['search_eval_seconds'] > 0
    finalists = stage['finalists']  # the search's front, for searched against hand-designed
    assert 1 <= len(finalists) == len(set(finalists)) <= 5 and all('_n' in a for a in finalists)
    assert stage['stage_seconds'] == pytest.approx(stage['supernet_seconds'] + stage['search_seconds'])
    assert stage['supernet_seconds'] > 0 and stage['every_searched_from_scratch_seconds'] > 0
    cost = json.loads((rank_run['work'] / 'modular_cost.json').read_text())
    assert cost['every_searched_over_stage'] == pytest.approx(stage['every_searched_over_stage'])
    overhead = cost['search_seconds'] - cost['search_eval_seconds']
    assert cost['search_overhead_seconds'] == pytest.approx(overhead)
    # the scoring settings the search used: batched, every subnet of 4 val images in full (no screening)
    assert cost['scoring'] == dict(val_images=4, batch=8, precision='fp32', screen_images=None,
                                   scored_in_full=5)
    assert len(cost['subnets_trained_from_scratch']) == 3 and '--cost-json' in cost['command']


def test_the_stage_re_measured_with_an_earlier_runs_scratch_fit(rank_run, tmp_path):
    """--scratch-fit-from: a new supernet and search (here scored in bf16), priced against the
    from-scratch trainings another run measured; nothing is trained from scratch."""
    _, args = rank_run['copy'](tmp_path)
    earlier = json.loads((rank_run['work'] / 'modular_cost.json').read_text())
    work = tmp_path / 'again'
    args[args.index('--work-dir') + 1] = str(work)
    args[args.index('--cost-json') + 1] = str(work / 'cost.json')
    i = args.index('--noise-seeds')
    del args[i:i + 2]
    log = run_tool(*args, 'subnet_search.precision=bf16', '--scratch-fit-from',
                   str(rank_run['work'] / 'modular_cost.json'))
    assert 'training from scratch' not in log and 'modular stage' in log
    cost = json.loads((work / 'cost.json').read_text())
    assert cost['scoring']['precision'] == 'bf16' and cost['searched_subnets'] == 5
    assert cost['scratch_fit_from'].endswith('modular_cost.json')
    assert cost['subnets_trained_from_scratch'] == earlier['subnets_trained_from_scratch']
    assert cost['scratch_fit'] == pytest.approx(earlier['scratch_fit'])
    every = cost['searched_subnets'] * cost['scratch_fit']['seconds_at_0'] + \
        cost['scratch_fit']['seconds_per_gflop'] * cost['searched_gflops_sum']
    assert cost['every_searched_over_stage'] == pytest.approx(every / cost['stage_seconds'])
    assert not (work / 'subnets').exists() or not any((work / 'subnets').rglob('result.json'))


def test_a_scratch_fit_needs_two_timed_trainings(tmp_path):
    path = tmp_path / 'cost.json'
    path.write_text(json.dumps({'subnets_trained_from_scratch': {'a': dict(gflops=1.0, seconds=10.0),
                                                                 'b': dict(gflops=2.0, seconds=None)}}))
    with pytest.raises(SystemExit, match='1 timed from-scratch trainings'):
        scratch_fit_rows(str(path))
    path.write_text('{}')
    with pytest.raises(SystemExit, match='not a cost breakdown'):
        scratch_fit_rows(str(path))


def test_rank_fidelity_trains_the_median_subnet_again_for_noise(rank_run):
    out = rank_run['out']
    noise = out['ground_truth_noise']  # the median-FLOPs subnet, trained again with seed 1
    assert noise['arch'] == sorted(out['subnets'], key=lambda a: out['subnets'][a]['gflops'])[1]
    assert set(noise['mAP_by_seed']) == {'0', '1'} and noise['pairs'] == 3
    assert (rank_run['work'] / 'subnets' / noise['arch'] / 'scratch_seed1' / 'result.json').is_file()
    # what a 24-subnet truth between these extremes would agree with itself, from that noise
    projected = out['projected_24']
    assert set(projected) == {'seed_tau_1_seeds', 'seed_tau_2_seeds', 'seed_tau_3_seeds'}
    assert all(-1 <= v <= 1 for v in projected.values() if v == v)


def test_rank_fidelity_rerun_trains_and_searches_nothing(rank_run, tmp_path):
    _, args = rank_run['copy'](tmp_path)
    log = run_tool(*args)
    assert 'training from scratch' not in log and 'inherited mAP' not in log and 'searching' not in log


@pytest.mark.slow  # long; the fast suite keeps a sibling check
def test_more_scratch_seeds_train_only_what_is_missing(rank_run, tmp_path):
    work, args = rank_run['copy'](tmp_path)
    noise = rank_run['out']['ground_truth_noise']
    log = run_tool(*args, '--scratch-seeds', '2')  # the median subnet has seed 1 from the noise run
    assert log.count('training from scratch, seed 1') == 2 and 'searching' not in log
    out = json.loads((work / 'rank_fidelity.json').read_text())
    for arch, r in out['subnets'].items():
        assert set(r['mAP_scratch_seeds']) == {'0', '1'} and r['scratch_seeds'] == 2
        assert r['mAP_scratch_mean'] == pytest.approx(sum(r['mAP_scratch_seeds'].values()) / 2)
        assert (work / 'subnets' / arch / 'scratch_seed1' / 'result.json').is_file()
    assert out['subnets'][noise['arch']]['mAP_scratch_seeds']['1'] == noise['mAP_by_seed']['1']
    seeds = out['ground_truth_seeds']
    assert seeds['seeds_per_subnet'] == [2, 2] and seeds['pairs'] == 3
    assert set(seeds['seed_pair_tau']) == {'0-1'}
    assert 'ground truth: the mean of seeds 0,1 (every subnet has them; 2-2 seeds' in log


@pytest.mark.slow  # trains the toy supernet again
def test_a_supernet_resumes_when_its_record_holds_no_wall_time(rank_run, tmp_path):
    """A record restored from JSON stores an unknown wall time as null; training the
    supernet on from there adds to zero instead of failing at the end."""
    work, args = rank_run['copy'](tmp_path)
    state = work / 'variant_base.json'
    v = json.loads(state.read_text())
    v['supernet_wall_seconds'], v['inherited'] = None, {}  # its scores were not stored either
    state.write_text(json.dumps(v))
    for f in ('iter_2.pth', 'last_checkpoint'):  # the copy's last_checkpoint names the original's
        (work / 'supernet' / f).unlink()
    assert 'inherited mAP' in run_tool(*args)
    assert json.loads(state.read_text())['supernet_wall_seconds'] > 0


def test_sigterm_during_a_search_keeps_its_seconds(rank_run, tmp_path):
    work, args = rank_run['copy'](tmp_path)
    before = json.loads((work / 'truth.json').read_text())['search_seconds']
    proc = subprocess.Popen([sys.executable, *args, '--search-subnets', '30'], cwd=REPO_ROOT, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    for line in proc.stdout:
        if '[rank] searching' in line:
            proc.send_signal(signal.SIGTERM)
            break
    rest = proc.communicate(timeout=120)[0]
    assert proc.returncode == 128 + signal.SIGTERM, rest[-2000:]
    assert json.loads((work / 'truth.json').read_text())['search_seconds'] > before


def test_another_scratch_schedule_is_refused(rank_run, tmp_path):
    _, args = rank_run['copy'](tmp_path)
    args[args.index('--scratch-iters') + 1] = '4'  # it would mix two ground truths in one ranking
    proc = subprocess.run([sys.executable, *args], cwd=REPO_ROOT, capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode != 0 and 'trained subnets from scratch with' in proc.stderr


@pytest.mark.slow  # long; the fast suite keeps a sibling check
def test_a_variant_is_scored_against_the_same_ground_truth(rank_run, tmp_path):
    work, args = rank_run['copy'](tmp_path)
    log = run_tool(*args, 'model.num_random_subnets=1', '--variant', 'random1')
    assert 'training from scratch' not in log and 'searching' not in log and 'random1: Kendall tau' in log
    out = json.loads((work / 'rank_fidelity.json').read_text())
    assert set(out['variants']) == {'base', 'random1'}
    assert (work / 'supernet_random1' / 'iter_2.pth').is_file()
    assert out['variants']['random1']['cfg_options']['model.num_random_subnets'] == 1
    assert set(out['variants']['random1']['mAP_inherited']) == set(out['subnets'])


def test_subnets_scored_side_by_side_score_as_one_process_does(rank_run, tmp_path):
    """--score-jobs 2: two worker processes share the subnets, store every score as it
    comes, and score each as the base run did in this process (the same supernet)."""
    work, args = rank_run['copy'](tmp_path)
    log = run_tool(*args, '--variant', 'two', '--supernet-of', 'base', '--score-jobs', '2')
    assert 'two: Kendall tau' in log and log.count('[score] ') == 3
    base = json.loads((work / 'variant_base.json').read_text())['inherited']
    two = json.loads((work / 'variant_two.json').read_text())['inherited']
    assert set(two) == set(base) == set(rank_run['out']['subnets'])
    for arch, score in two.items():  # one thread each instead of the test's: float sums may reorder
        assert score['mAP'] == pytest.approx(base[arch]['mAP'], abs=1e-3)
        assert score['val_loss'] == pytest.approx(base[arch]['val_loss'], rel=1e-4)
    record = json.loads((work / 'rank_fidelity.json').read_text())
    assert set(record['variants']['two']['mAP_inherited']) == set(two)


def test_a_scoring_worker_that_fails_is_named(tmp_path):
    from smnas.benchmarks.scoring import Scorer, ScoringOptions, score_subnets

    missing = Scorer(cfg=None, checkpoint=str(tmp_path / 'missing.pth'), work_dir=str(tmp_path / 'eval'))
    with pytest.raises(RuntimeError, match='score-worker-0, score-worker-1 ended with an error'):
        score_subnets([('a', missing), ('b', missing)], tmp_path / 'state.json', ScoringOptions(), jobs=2,
                      poll_seconds=0.5)
    assert not (tmp_path / 'state.json').exists()


@pytest.mark.slow  # two more runs of the bench
def test_a_search_option_stays_on_record_after_a_plain_rerun(rank_run, tmp_path):
    work, args = rank_run['copy'](tmp_path)
    run_tool(*args, 'subnet_search.max_trials_factor=7')
    run_tool(*args)
    out = json.loads((work / 'rank_fidelity.json').read_text())
    assert out['variants']['base']['cfg_options']['subnet_search.max_trials_factor'] == 7


@pytest.mark.slow  # a bench run (30 s); tests/evaluation/test_inherited.py checks the fine-tune itself
def test_a_finetune_recipe_scores_with_the_base_supernet(rank_run, tmp_path):
    """--finetune-iters with --supernet-of base: no supernet of its own; each subnet is
    fine-tuned before it is scored, and the fine-tune's time is part of its score's."""
    work, args = rank_run['copy'](tmp_path)
    log = run_tool(*args, '--variant', 'ft2', '--supernet-of', 'base', '--finetune-iters', '2')
    assert 'training from scratch' not in log and 'ft2: Kendall tau' in log
    assert not (work / 'supernet_ft2').exists()
    inherited = json.loads((work / 'variant_ft2.json').read_text())['inherited']
    assert set(inherited) == set(rank_run['out']['subnets'])
    assert all(0 < r['finetune_seconds'] < r['seconds'] for r in inherited.values())
    out = json.loads((work / 'rank_fidelity.json').read_text())
    base = out['variants']['base']['supernet_seconds']
    assert out['variants']['ft2']['supernet_seconds'] == pytest.approx(base)  # the supernet it used
    proc = subprocess.run([sys.executable, *args, '--variant', 'ft2', '--supernet-of', 'base',
                           '--finetune-iters', '3'], cwd=REPO_ROOT, capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode != 0 and 'give it the same options' in proc.stderr


@pytest.mark.slow  # two supernet parts and their scoring (about a minute)
def test_few_shot_parts_start_from_the_base_supernet(rank_run, tmp_path):
    work, args = rank_run['copy'](tmp_path)
    log = run_tool(*args, '--variant', 'fs', '--supernet-of', 'base', '--few-shot', 'neck',
                   '--few-shot-iters', '1')
    assert 'training the neck=32 part' in log and 'training the neck=64 part' in log
    from mmengine.config import Config

    for value in (32, 64):
        cfg = Config.fromfile(str(work / f'supernet_fs_neck{value}' / 'config.py'))
        assert cfg.model.part == {'neck_channels': [value]}
        assert cfg.load_from == str(work / 'supernet' / 'iter_2.pth')  # starts from the one-shot supernet
        assert (work / f'supernet_fs_neck{value}' / 'iter_1.pth').is_file()
        logs = ''.join(f.read_text() for f in (work / f'supernet_fs_neck{value}').glob('*/*.log'))
        assert f'Load checkpoint from {work}/supernet/iter_2.pth' in logs  # loaded, not resumed
    out = json.loads((work / 'rank_fidelity.json').read_text())
    fs = out['variants']['fs']
    assert set(fs['mAP_inherited']) == set(out['subnets'])
    assert fs['supernet_seconds'] > out['variants']['base']['supernet_seconds']  # the parts count


def test_a_variant_may_not_change_the_space(rank_run, tmp_path):
    _, args = rank_run['copy'](tmp_path)  # the ground truth would not be of its subnets
    proc = subprocess.run([sys.executable, *args, 'model.space.head_channels=[32]', '--variant', 'other'],
                          cwd=REPO_ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode != 0 and 'variants may change how, not what' in proc.stderr


def _record(space: dict, seeds: dict, inherited: dict, noise: dict) -> dict:
    """A results file as the rank bench writes it: three subnets, seed 0 and some more."""
    subnets = {a: dict(gflops=float(i + 1), mAP_scratch=m['0'], mAP_50_scratch=m['0'], params_m=1.0,
                       scratch_seconds=100.0 * (i + 1), train_seconds=90.0, gflops_thop=float(i + 1),
                       mAP_scratch_seeds=dict(m), mAP_inherited=inherited[a], mAP_50_inherited=inherited[a],
                       inherited_seconds=2.0)
               for i, (a, m) in enumerate(seeds.items())}
    return dict(space=space, scratch_schedule=dict(iters=3, options={}), subnets=subnets,
                ground_truth_noise=dict(arch=list(seeds)[1], mAP_by_seed=noise),
                variants=dict(base=dict(mAP_inherited=inherited, cfg_options={}, supernet_seconds=60.0)))


@pytest.fixture
def rank_record(tmp_path):
    """The rank bench on the quickstart space, and a record of three of its subnets: a
    run stopped half-way through seed 1 (the first subnet has it, the last does not; the
    middle one has seeds 0-2 from the noise run)."""
    from supernet.space import ModularSpace

    cfg = str(config_path('supernet/quickstart_synthetic.py'))
    opts = {'model.space.bases': [16, 24], 'model.space.neck_channels': [32, 64], 'prepare_data': None}
    space = json.loads(json.dumps(read_config(cfg, opts).model.space.to_dict()))
    ms = ModularSpace.from_dict(space)
    a, b, c = str(ms.min_subnet()), '24_1-21-21-12_n32_h256', str(ms.max_subnet())
    assert len({a, b, c}) == 3 and ms.validate(b)
    inherited = {a: 0.1, b: 0.2, c: 0.3}
    seeds = {a: {'0': 0.1, '1': 0.5}, b: {'0': 0.2}, c: {'0': 0.3}}
    noise = {'0': 0.2, '1': 0.24, '2': 0.22}
    record = tmp_path / 'record.json'
    record.write_text(json.dumps(_record(space, seeds, inherited, noise)))

    def restore(name: str, **kw):  # a new machine: an empty work dir, the record
        return RankFidelity(cfg, str(tmp_path / name), opts, scratch_iters=3, search_subnets=0,
                                  record=str(record), **kw)

    return dict(restore=restore, record=record, subnets=(a, b, c), space=space, seeds=seeds,
                inherited=inherited, noise=noise)


def test_a_record_restores_and_ranks_against_whole_seeds(rank_record, tmp_path):
    r = rank_record
    a, b, c = r['subnets']
    out = r['restore']('one').run()
    assert not (tmp_path / 'one' / 'supernet').exists()  # everything is recorded: no supernet
    # Ranked against seed 0 alone, the seed every subnet has: seed 0 ranks as inherited does.
    assert out['truth_seeds'] == ['0'] and out['kendall_tau'] == pytest.approx(1.0)
    assert out['subnets'][a]['mAP_scratch_mean'] == pytest.approx(0.1)
    assert out['subnets'][b]['mAP_scratch_seeds'] == r['noise']  # the noise run's seeds count
    assert out['ground_truth_seeds']['seeds_per_subnet'] == [1, 3]
    assert out['scratch_over_inherited'] == pytest.approx(100.0)
    # c's seed 1 lands: a's mean 0.3 overtakes b's 0.22 and c's 0.3 + 0.01
    r['record'].write_text(json.dumps(_record(r['space'], dict(r['seeds'], **{c: {'0': 0.3, '1': 0.32}}),
                                              r['inherited'], r['noise'])))
    out = r['restore']('two').run()
    assert out['truth_seeds'] == ['0', '1']
    assert out['subnets'][a]['mAP_scratch_mean'] == pytest.approx(0.3)
    assert out['subnets'][b]['mAP_scratch_mean'] == pytest.approx(0.22)
    assert out['kendall_tau'] == pytest.approx(1 / 3)  # a-b discordant, a-c and b-c concordant
    # per choice of the space, what the ranking and seed 0 (against seed 1) order as the truth
    effects, ceiling = out['variants']['base']['choice_effects']['mAP'], out['truth_choice_effects']
    assert effects and set(effects) == set(ceiling) <= {'base', 'depth', 'neck', 'head'}
    for e in effects.values():
        assert sum(v['n'] for v in e['values'].values()) == 3
        assert e['within']['pairs'] + e['across']['pairs'] == 3
    assert 'truth_choice_effects_split' not in out  # two truths of disjoint seeds need 3 seeds
    assert out['truth_split_tau'] is None and out['truth_split_sizes'] is None
    # ranking by size alone, the baseline any recipe must beat: the same order as inherited here
    assert out['baselines']['gflops']['kendall_tau'] == pytest.approx(1 / 3)
    assert 'params_m' not in out['baselines']  # every subnet of the record has 1.0 M: no order
    # the seeds differ more than the subnets' means do: no true order for an oracle to find
    rel = out['ground_truth_reliability']
    assert rel['subnets'] == 3 and rel['true_std'] == 0 and rel['oracle_tau'] == 0
    assert 'tau_over_oracle' not in out['variants']['base']
    # what the summary wrote restores to the same summary
    r['record'].write_text(json.dumps(out))
    again = r['restore']('three').run()
    for key in ('subnets', 'kendall_tau', 'spearman_rho', 'truth_seeds', 'ground_truth_noise',
                'ground_truth_seeds', 'variants'):
        assert again[key] == out[key], key
    # a third seed of every subnet: one seed against the mean of the other two, each way
    two = dict(r['seeds'], **{c: {'0': 0.3, '1': 0.32}})
    three = {k: dict(m, **{'2': m['0'] + 0.01}) for k, m in two.items()}
    three[b] = dict(r['noise'])
    r['record'].write_text(json.dumps(_record(r['space'], three, r['inherited'], r['noise'])))
    split = r['restore']('split').run()
    assert split['truth_split_sizes'] == [1, 2] == split['ground_truth_seeds']['split']['sizes']
    assert split['truth_split_tau'] == split['ground_truth_seeds']['split']['kendall_tau']
    # c's seeds far ahead: the truth resolves c-a and c-b (by > 2*sqrt(2)*0.116), not a-b
    far = dict(r['seeds'], **{c: {'0': 0.9, '1': 0.92}})
    for inherited, agreed in (({a: 0.1, b: 0.2, c: 0.3}, 2), ({a: 0.1, b: 0.4, c: 0.3}, 1)):
        r['record'].write_text(json.dumps(_record(r['space'], far, inherited, r['noise'])))
        out = r['restore'](f'far{agreed}').run()
        assert out['ground_truth_seeds']['pairs_resolved'] == 2
        base = out['variants']['base']
        # c stands apart: against this 2-seed truth the true order reaches oracle_tau < 1
        oracle = out['ground_truth_reliability']['oracle_tau']
        assert 0 < oracle < 1 and base['tau_over_oracle'] == pytest.approx(base['kendall_tau'] / oracle)
        assert (base['resolved_pairs'], base['resolved_pairs_agreed']) == (2, agreed)
    # a third seed of every subnet: split truths (1 against 2 seeds) per choice, as the splits
    three = {a: {'0': 0.1, '1': 0.5, '2': 0.3}, b: {'0': 0.2, '1': 0.2, '2': 0.25},
             c: {'0': 0.3, '1': 0.4, '2': 0.2}}
    r['record'].write_text(json.dumps(_record(r['space'], three, r['inherited'], r['noise'])))
    out = r['restore']('three_seeds').run()
    split = out['truth_choice_effects_split']
    assert out['truth_seeds'] == ['0', '1', '2'] and set(split) == set(out['truth_choice_effects'])
    assert all(e['seed_pairs'] == 3 for e in split.values())
    # a second recipe that ranks as the truth does: the best, and its gain over base is paired
    rec = _record(r['space'], far, {a: 0.1, b: 0.4, c: 0.3}, r['noise'])  # base: tau -1/3
    rec['variants']['exact'] = dict(mAP_inherited={a: 0.2, b: 0.1, c: 0.3}, cfg_options={},
                                    supernet_seconds=1.0)
    r['record'].write_text(json.dumps(rec))
    out = r['restore']('two_recipes').run()
    exact = out['variants']['exact']
    assert exact['kendall_tau'] == pytest.approx(1.0) and out['best_variant'] == 'exact'
    assert out['default_variant'] == 'base' and 'tau_minus_default' not in out['variants']['base']
    assert exact['tau_minus_default']['difference'] == pytest.approx(4 / 3)


def test_a_record_restores_a_variants_whole_scores(rank_record, tmp_path):
    """A variant's inherited scores go into the record whole (val loss, noise, time), so a
    new machine ranks by each score again and scores, and trains, nothing."""
    r = rank_record
    a, b, c = r['subnets']
    scores = {x: dict(mAP=m, mAP_se=0.01, val_loss=1.0 - m, seconds=3.0)
              for x, m in ((a, 0.2), (b, 0.1), (c, 0.3))}
    rec = json.loads(r['record'].read_text())
    rec['variants']['whole'] = dict(mAP_inherited={x: s['mAP'] for x, s in scores.items()}, inherited=scores,
                                    cfg_options={}, supernet_seconds=5.0)
    r['record'].write_text(json.dumps(rec))
    out = r['restore']('new', variant='whole').run()
    assert not (tmp_path / 'new' / 'supernet_whole').exists()
    whole = out['variants']['whole']
    assert whole['inherited'] == scores and whole['subnets'] == 3
    assert set(whole['by_score']) == {'mAP', 'val_loss', 'blend'}
    assert out['variants']['base']['inherited'][a]['seconds'] == 2.0  # an older record: the table's
    assert 'tau_minus_default_by_loss' not in whole  # the base of an older record has no val loss
    # what it wrote restores to the same variants
    r['record'].write_text(json.dumps(out))
    assert r['restore']('again', variant='whole').run()['variants'] == out['variants']
    # a base scored by val loss too: the recipes are compared with it by loss, paired
    out['variants']['base']['inherited'] = {x: dict(mAP=m, mAP_50=m, val_loss=m, seconds=2.0)
                                            for x, m in ((a, 0.1), (b, 0.2), (c, 0.3))}
    r['record'].write_text(json.dumps(out))
    by_loss = r['restore']('paired', variant='whole').run()['variants']['whole']['tau_minus_default_by_loss']
    # against seed 0 (0.1, 0.2, 0.3): whole's loss ranks b < a < c (tau 1/3), base's the reverse (-1)
    assert by_loss['difference'] == pytest.approx(1 / 3 + 1)


def test_a_recipe_not_ranked_yet_is_kept_apart_and_restored(rank_record, tmp_path):
    """A recipe whose supernet is still training (one subnet scored, no ranking) is not in
    ``variants``, where every recipe has its tau, but in ``variants_under_way``, and a new
    machine restores it from there: its supernet's time and its first score."""
    r = rank_record
    a = r['subnets'][0]
    rec = json.loads(r['record'].read_text())
    rec['variants']['early'] = dict(mAP_inherited={a: 0.4}, cfg_options={'model.distill': 'outputs'},
                                    supernet_seconds=7.0)
    r['record'].write_text(json.dumps(rec))
    out = r['restore']('first').run()
    assert set(out['variants']) == {'base'} and set(out['variants_under_way']) == {'early'}
    assert all('kendall_tau' in v and 'kendall_tau_ci95' in v for v in out['variants'].values())
    early = out['variants_under_way']['early']
    assert early['subnets'] == 1 and early['supernet_seconds'] == 7.0
    r['record'].write_text(json.dumps(out))
    again = r['restore']('second').run()  # the base: nothing trained, every state restored
    assert again['variants_under_way']['early']['inherited'] == {a: {'mAP': 0.4}}
    assert again['variants_under_way']['early']['cfg_options'] == {'model.distill': 'outputs'}


def test_a_recipe_scored_on_some_subnets_is_under_way_with_a_first_look(rank_record, tmp_path):
    """A recipe that has scored 2 of the 3 subnets (its scoring stopped with the machine) is
    no ranking yet: under way, with a first look over those 2 and every score kept, so the
    record written then restores them and a rerun scores only the third; nor does a seed of
    it join an ensemble until it has scored them all."""
    r = rank_record
    a, b, c = r['subnets']
    rec = json.loads(r['record'].read_text())
    opts = {'model.distill': 'outputs'}
    rec['variants']['half'] = dict(mAP_inherited={a: 0.4, b: 0.1}, cfg_options=opts, supernet_seconds=7.0)
    rec['variants']['half_seed1'] = dict(mAP_inherited={a: 0.1, b: 0.2, c: 0.3},
                                         cfg_options=dict(opts, **{'model.seed': 1}), supernet_seconds=6.0)
    r['record'].write_text(json.dumps(rec))
    out = r['restore']('part').run()
    assert 'half' not in out['variants'] and 'half_x2' not in out['variants']
    half = out['variants_under_way']['half']
    assert half['subnets'] == 2 and 'kendall_tau' not in half
    assert half['interim']['kendall_tau'] == pytest.approx(-1.0)  # a above b, seed 0 the reverse
    assert half['inherited'] == {a: {'mAP': 0.4}, b: {'mAP': 0.1}}
    assert out['variants']['half_seed1']['kendall_tau'] == pytest.approx(1.0)
    assert out['best_variant'] in out['variants']
    r['record'].write_text(json.dumps(out))
    again = r['restore']('again').run()
    assert again['variants_under_way']['half']['inherited'] == half['inherited']


def test_two_seeds_of_a_recipe_also_rank_by_their_mean_scores(rank_record, tmp_path):
    """Two supernets of one recipe and different seeds: each ranks on its own, and a third
    ranking by their mean score, with how alike the two rank; a new machine makes it again
    from its members (it is no state of its own) and ranks the same."""
    r = rank_record
    a, b, c = r['subnets']
    rec = json.loads(r['record'].read_text())
    opts = {'model.distill': 'outputs'}
    rec['variants']['d'] = dict(mAP_inherited={a: 0.1, b: 0.4, c: 0.3}, cfg_options=opts,
                                supernet_seconds=5.0)
    rec['variants']['d_seed1'] = dict(mAP_inherited={a: 0.3, b: 0.1, c: 0.35},
                                      cfg_options=dict(opts, **{'model.seed': 1}), supernet_seconds=6.0)
    r['record'].write_text(json.dumps(rec))
    out = r['restore']('seeds').run()
    assert set(out['variants']) == {'base', 'd', 'd_seed1', 'd_x2'}
    x2 = out['variants']['d_x2']
    assert x2['ensemble_of'] == ['d', 'd_seed1'] and x2['supernet_seconds'] == 11.0
    assert x2['mAP_inherited'] == {a: pytest.approx(0.2), b: pytest.approx(0.25), c: pytest.approx(0.325)}
    # against seed 0 (0.1, 0.2, 0.3): d puts b first (1/3), d_seed1 a above b (1/3), their mean neither
    assert out['variants']['d']['kendall_tau'] == pytest.approx(1 / 3)
    assert out['variants']['d_seed1']['kendall_tau'] == pytest.approx(1 / 3)
    assert x2['kendall_tau'] == pytest.approx(1.0)
    assert x2['members_agreement']['mean_kendall_tau'] == pytest.approx(-1 / 3)
    # paired with the default (base, which ranks as seed 0 does), as every recipe is
    assert out['variants']['d']['tau_minus_default']['difference'] == pytest.approx(1 / 3 - 1)
    assert x2['tau_minus_default']['difference'] == pytest.approx(0.0)
    r['record'].write_text(json.dumps(out))
    again = r['restore']('again').run()
    assert not (tmp_path / 'again' / 'variant_d_x2.json').exists()
    assert again['variants'] == out['variants']
    # a third seed scored on some subnets only (its supernet still training, or scoring):
    # the mean stays that of the two done, until it has scored as many
    rec['variants']['d_seed2'] = dict(mAP_inherited={a: 0.5}, cfg_options=dict(opts, **{'model.seed': 2}),
                                      supernet_seconds=7.0)
    r['record'].write_text(json.dumps(rec))
    third = r['restore']('third').run()
    assert 'd_x3' not in third['variants'] and third['variants']['d_x2'] == x2
    rec['variants']['d_seed2']['mAP_inherited'] = {a: 0.5, b: 0.1, c: 0.35}  # and once it has
    r['record'].write_text(json.dumps(rec))
    x3 = r['restore']('whole').run()['variants']
    assert 'd_x2' not in x3 and x3['d_x3']['ensemble_of'] == ['d', 'd_seed1', 'd_seed2']
    assert x3['d_x3']['mAP_inherited'][a] == pytest.approx(0.3)


def test_a_mean_over_two_recipes_supernets_ranks_and_is_kept_in_the_record(rank_record, tmp_path):
    """``--mean-of d,e``: a ranking by the mean score of two recipes' supernets (the search's
    ensemble of any supernets of the space), said to be over recipes; the record keeps the
    request, so a new machine ranks by it again without being told; a name the work dir has
    no state of is refused."""
    r = rank_record
    a, b, c = r['subnets']
    rec = json.loads(r['record'].read_text())
    rec['variants']['d'] = dict(mAP_inherited={a: 0.1, b: 0.4, c: 0.3},
                                cfg_options={'model.distill': 'outputs'}, supernet_seconds=5.0)
    rec['variants']['e'] = dict(mAP_inherited={a: 0.3, b: 0.1, c: 0.35},
                                cfg_options={'model.extremes': []}, supernet_seconds=6.0)
    r['record'].write_text(json.dumps(rec))
    out = r['restore']('mixed', means=[['d', 'e']]).run()
    mixed = out['variants']['d+e']
    assert mixed['ensemble_of'] == ['d', 'e'] and mixed['mean_over'] == 'recipes'
    assert mixed['mAP_inherited'][b] == pytest.approx(0.25) and mixed['supernet_seconds'] == 11.0
    assert mixed['kendall_tau'] == pytest.approx(1.0)  # (0.2, 0.25, 0.325) as seed 0's order
    assert out['means_of'] == [['d', 'e']]
    r['record'].write_text(json.dumps(out))
    again = r['restore']('again').run()
    assert not (tmp_path / 'again' / 'variant_d+e.json').exists()
    assert again['variants']['d+e'] == mixed
    with pytest.raises(SystemExit, match='two or more different variants'):
        r['restore']('bad', means=[['d', 'nope']])
    with pytest.raises(SystemExit, match='two or more different variants'):
        r['restore']('bad', means=[['d', 'd']])


def test_recipes_of_another_record_rank_against_this_truth(rank_record, tmp_path):
    """A truth trained elsewhere (a GPU run) checks the recipes scored here: the other
    record's inherited scores rank against this work dir's truth, marked as imported."""
    r = rank_record
    a, b, c = r['subnets']
    bench = r['restore']('gpu')
    bench.run()
    other = json.loads(r['record'].read_text())
    other['variants']['exact'] = dict(mAP_inherited={a: 0.2, b: 0.1, c: 0.3}, cfg_options={},
                                      supernet_seconds=1.0)
    path = tmp_path / 'cpu_record.json'
    path.write_text(json.dumps(other))
    # its own base (restored from its record) is kept; a variant only the other has comes in
    assert bench.import_variants(str(path)) == ['exact']
    out = bench.summary()
    exact = out['variants']['exact']
    assert exact['imported_from'] == str(path) and exact['subnets'] == 3
    assert exact['kendall_tau'] == pytest.approx(1 / 3)  # against seed 0: 0.1, 0.2, 0.3
    assert out['variants']['base']['imported_from'] is None
    # another space's recipes do not compare
    other['space'] = dict(other['space'], bases=[8])
    path.write_text(json.dumps(other))
    with pytest.raises(SystemExit, match='only recipes of the same space'):
        bench.import_variants(str(path))


def test_the_record_keeps_every_training_of_a_stopped_run(rank_record, monkeypatch, tmp_path):
    import smnas.search.trial
    from smnas.records import TrialResult

    trained = []
    a, b, c = rank_record['subnets']
    work = tmp_path / 'stopped'

    def train(cfg, out_dir, **kw):  # c's seed 1 trains, then the machine stops
        if trained:
            raise KeyboardInterrupt
        trained.append(str(out_dir))
        # meanwhile a variant run sharing the work dir stores its scores in its own file
        scores = {a: dict(mAP=0.5), b: dict(mAP=0.6), c: dict(mAP=0.7)}
        (work / 'variant_other.json').write_text(json.dumps(dict(cfg_options={}, inherited=scores)))
        return TrialResult(arch=c, mAP=0.7, mAP_50=0.9, input_size=[96, 64])

    monkeypatch.setattr(smnas.search.trial, 'run_trial_subprocess', train)
    with pytest.raises(KeyboardInterrupt):
        rank_record['restore']('stopped', scratch_seeds=3).run()
    # c's seed 1 came first, as one seed goes over every subnet before the next
    assert len(trained) == 1 and trained[0].endswith(f'{c}/scratch_seed1')
    out = json.loads(rank_record['record'].read_text())
    assert out['subnets'][c]['mAP_scratch_seeds'] == {'0': 0.3, '1': 0.7}
    assert out['truth_seeds'] == ['0', '1']  # a, b and now c have seeds 0 and 1
    assert out['variants']['other']['mAP_inherited'] == {a: 0.5, b: 0.6, c: 0.7}


def test_truth_batches_train_seed_after_seed_with_no_barrier_after_seed_0():
    # seed 0 of every subnet first (the later seeds of a subnet need it); then seeds 1 and 2
    # in one queue: seed 2's first trainings start beside seed 1's last ones
    assert truth_batches(['a', 'b'], 3) == [[('a', (0,)), ('b', (0,))],
                                      [('a', (1,)), ('b', (1,)), ('a', (2,)), ('b', (2,))]]
    assert truth_batches(['a', 'b'], 1) == [[('a', (0,)), ('b', (0,))]]
    assert truth_batches(['a', 'b'], 2, 'subnet') == [[('a', (0, 1)), ('b', (0, 1))]]
    with pytest.raises(ValueError, match="'seed' or 'subnet'"):
        truth_batches(['a'], 2, 'random')


def test_inherited_scoring_order_spreads_every_prefix_over_the_flops_range():
    items = [f's{i:02d}' for i in range(24)]  # sorted by FLOPs
    out = coverage_order(items)
    assert sorted(out) == items and out[:3] == ['s00', 's23', 's11']
    for k in (3, 5, 9, 17):  # any prefix leaves no wide gap in the range
        idx = sorted(items.index(x) for x in out[:k])
        assert max(b - a for a, b in zip(idx, idx[1:])) <= 2 * 23 / (k - 1) + 1
    assert coverage_order([]) == [] and coverage_order(['a']) == ['a']
    assert coverage_order(['a', 'b', 'c']) == ['a', 'c', 'b']


def test_the_committed_rank_record_reports_the_configs_recipe_and_score_as_its_default():
    """benchmarks/results/rank_fidelity.json: its default is the variant that trains the rank
    config's recipe, ranked by the score the search ranks by (a config change without a
    regenerated record would report another recipe's tau as the default's)."""
    from smnas.search.subnet import SUBNET_DEFAULTS

    rec = json.loads((REPO_ROOT / 'benchmarks' / 'results' / 'rank_fidelity.json').read_text())
    cfg = str(config_path('supernet/rank_synthetic.py'))
    assert default_variant(cfg, rec['variants']) == rec['default_variant'] == rec['default']['variant']
    assert rec['default']['score'] == SUBNET_DEFAULTS['score']
    by = rec['variants'][rec['default_variant']]['by_score'][rec['default']['score']]
    assert rec['default']['kendall_tau'] == by['kendall_tau']


def test_the_default_variant_is_the_one_that_trains_the_configs_recipe():
    """'base' measures the config's recipe unless its recorded options say it trained
    another (a record made before the configs' default changed): then the variant whose
    options give the config's recipe is the default; recipes scored with another's
    supernet are not candidates."""
    cfg = str(config_path('supernet/quickstart_synthetic.py'))
    other = {'model.sampling': 'fair' if training_recipe(cfg)['sampling'] != 'fair' else 'uniform'}
    assert training_recipe(cfg, other) != training_recipe(cfg)
    assert default_variant(cfg, {'base': {'cfg_options': {}}, 'x': {'cfg_options': other}}) == 'base'
    old = {'base': {'cfg_options': other}, 'ft': {'cfg_options': {}, 'recipe': {'supernet_of': 'base'}},
           'unsaid': {'cfg_options': {}},  # an older record's variant: its recipe is unknown
           'now': {'cfg_options': {'model.seed': 0}, 'recipe': {'supernet_of': None, 'finetune_iters': 0}}}
    assert default_variant(cfg, old) == 'now'
    # a recipe that differs in its teacher alone (sorted before 'now') is not the config's
    old['a_teacher'] = dict(old['now'], cfg_options={'model.max_sampled': ['neck']})
    assert default_variant(cfg, old) == 'now'
    del old['now'], old['a_teacher']
    assert default_variant(cfg, old) == 'base'  # none trains it: base, as before

