"""The benchmarks run end to end at toy scale (their numbers come from real runs)."""
import importlib.util
import json
import shutil
import signal
import subprocess
import sys

import pytest
import torch

from smnas.testing import config_path
from smnas.utils.paths import REPO_ROOT

from .tool_helpers import TINY_SUPERNET_CLASSES, run_tool, tiny_options

TINY = ['model.space.bases=[16,24]', 'model.space.neck_channels=[32,64]',
        'model.space.head_channels=[32,64]', 'model.space.max_depths=[1,2,1,1]',
        'model.num_random_subnets=2', TINY_SUPERNET_CLASSES]


def _bench(name: str):
    """A benchmark script as a module."""
    spec = importlib.util.spec_from_file_location(name, REPO_ROOT / 'benchmarks' / f'{name}.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


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
                '--cfg-options', *tiny_options(tiny_data, 2), *TINY]

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
    assert set(base['by_score']) == {'mAP', 'val_loss', 'blend'}
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


@pytest.mark.slow  # two trainings in a fresh process (about 40 s); tests/test_gpu_check.py's rank.sh test too
def test_truth_first_trains_the_same_picks_without_a_supernet(rank_run, tiny_data, tmp_path):
    """--truth-first: the from-scratch truth alone (two trainings side by side, --jobs 2)."""
    work = tmp_path / 'truth'
    run_tool('benchmarks/bench_rank_fidelity.py', str(config_path('supernet/quickstart_synthetic.py')),
             '--work-dir', str(work), '--subnets', '2', '--scratch-iters', '2', '--truth-first',
             '--jobs', '2',
             '--cfg-options', *tiny_options(tiny_data, 2), *TINY)
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
                   '--cfg-options', *tiny_options(tiny_data, 2), *TINY)
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
    bench = _bench('bench_rank_fidelity')
    path = tmp_path / 'cost.json'
    path.write_text(json.dumps({'subnets_trained_from_scratch': {'a': dict(gflops=1.0, seconds=10.0),
                                                                 'b': dict(gflops=2.0, seconds=None)}}))
    with pytest.raises(SystemExit, match='1 timed from-scratch trainings'):
        bench.scratch_fit_rows(str(path))
    path.write_text('{}')
    with pytest.raises(SystemExit, match='not a cost breakdown'):
        bench.scratch_fit_rows(str(path))


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

    bench = _bench('bench_rank_fidelity')
    cfg = str(config_path('supernet/quickstart_synthetic.py'))
    opts = {'model.space.bases': [16, 24], 'model.space.neck_channels': [32, 64], 'prepare_data': None}
    space = json.loads(json.dumps(bench.read_config(cfg, opts).model.space.to_dict()))
    ms = ModularSpace.from_dict(space)
    a, b, c = str(ms.min_subnet()), '24_1-21-21-12_n32_h256', str(ms.max_subnet())
    assert len({a, b, c}) == 3 and ms.validate(b)
    inherited = {a: 0.1, b: 0.2, c: 0.3}
    seeds = {a: {'0': 0.1, '1': 0.5}, b: {'0': 0.2}, c: {'0': 0.3}}
    noise = {'0': 0.2, '1': 0.24, '2': 0.22}
    record = tmp_path / 'record.json'
    record.write_text(json.dumps(_record(space, seeds, inherited, noise)))

    def restore(name: str, **kw):  # a new machine: an empty work dir, the record
        return bench.RankFidelity(cfg, str(tmp_path / name), opts, scratch_iters=3, search_subnets=0,
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


@pytest.mark.slow  # 110 s on 2 cores: six trainings and two retrainings in subprocesses
def test_searched_vs_hand_designed_table(tiny_data, tmp_path):
    cfg = str(config_path('supernet/quickstart_synthetic.py'))
    opts = ['--cfg-options', *tiny_options(tiny_data, 2), *TINY, 'subnet_search.n_trials=2',
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
    bench = _bench('bench_searched_vs_hand')

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
    bench = _bench('channel_importance')
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
    _bench('bench_structural_fidelity').main()
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
    bench = _bench('bench_search_vs_random')
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
    assert len(calls) == 11
    assert '--truth-first' in calls[0] and all('--truth-first' not in c for c in calls[1:])
    assert [re.search(r'--variant (\S+)', c)[1] if '--variant' in c else None for c in calls] == [
        None, None, 'per_weight', 'ft50', 'no_extremes', 'fewshot_neck', 'distill_outputs', 'ft50_distill',
        'fewshot_distill', 'fair', None]
    assert "model.extremes=[]" in calls[4]  # quoted for the shell, one option for the bench
    # base and the recipes measured against it pin the sandwich they trained, whatever the
    # configs' default; no_extremes is the configs' recipe, distillation adds the max member
    pinned = [i for i, c in enumerate(calls) if 'model.extremes=[max,min] model.num_random_subnets=1' in c]
    assert pinned == [1, 2, 3, 5, 9, 10]
    assert all('model.distill=False' in calls[i] for i in (1, 2, 3, 4, 5, 9, 10))
    # the recipes on top of distillation start from its supernet, with its recipe
    assert all('model.extremes=[max] model.num_random_subnets=2 model.sampling=fair model.distill=outputs'
               in calls[i] for i in (6, 7, 8))
    assert '--supernet-of distill_outputs --finetune-iters 50' in calls[7]
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
    bench = _bench('record_retrain')
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
    bench = _bench('record_train_scalars')
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

    bench = _bench('score_against_truth')
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
    assert set(rec['by_score']) == {'mAP', 'val_loss', 'blend'}
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

    bench = _bench('bench_loss_scoring')
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


def test_truth_batches_train_seed_after_seed_with_no_barrier_after_seed_0():
    batches = _bench('bench_rank_fidelity').truth_batches
    # seed 0 of every subnet first (the later seeds of a subnet need it); then seeds 1 and 2
    # in one queue: seed 2's first trainings start beside seed 1's last ones
    assert batches(['a', 'b'], 3) == [[('a', (0,)), ('b', (0,))],
                                      [('a', (1,)), ('b', (1,)), ('a', (2,)), ('b', (2,))]]
    assert batches(['a', 'b'], 1) == [[('a', (0,)), ('b', (0,))]]
    assert batches(['a', 'b'], 2, 'subnet') == [[('a', (0, 1)), ('b', (0, 1))]]
    with pytest.raises(ValueError, match="'seed' or 'subnet'"):
        batches(['a'], 2, 'random')


def test_inherited_scoring_order_spreads_every_prefix_over_the_flops_range():
    order = _bench('bench_rank_fidelity').coverage_order
    items = [f's{i:02d}' for i in range(24)]  # sorted by FLOPs
    out = order(items)
    assert sorted(out) == items and out[:3] == ['s00', 's23', 's11']
    for k in (3, 5, 9, 17):  # any prefix leaves no wide gap in the range
        idx = sorted(items.index(x) for x in out[:k])
        assert max(b - a for a, b in zip(idx, idx[1:])) <= 2 * 23 / (k - 1) + 1
    assert order([]) == [] and order(['a']) == ['a'] and order(['a', 'b', 'c']) == ['a', 'c', 'b']


def test_supernet_step_bench_prices_distillation_against_none(tmp_path):
    """benchmarks/bench_supernet_step.py --sections distill: a sandwich step with each
    distillation mode, interleaved with one without; only the sections asked for run."""
    bench = _bench('bench_supernet_step')
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
    bench = _bench('bench_supernet_step')
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


def test_the_committed_rank_record_reports_the_configs_recipe_and_score_as_its_default():
    """benchmarks/results/rank_fidelity.json: its default is the variant that trains the rank
    config's recipe, ranked by the score the search ranks by (a config change without a
    regenerated record would report another recipe's tau as the default's)."""
    from smnas.search.subnet import SUBNET_DEFAULTS

    bench = _bench('bench_rank_fidelity')
    rec = json.loads((REPO_ROOT / 'benchmarks' / 'results' / 'rank_fidelity.json').read_text())
    cfg = str(config_path('supernet/rank_synthetic.py'))
    assert bench.default_variant(cfg, rec['variants']) == rec['default_variant'] == rec['default']['variant']
    assert rec['default']['score'] == SUBNET_DEFAULTS['score']
    by = rec['variants'][rec['default_variant']]['by_score'][rec['default']['score']]
    assert rec['default']['kendall_tau'] == by['kendall_tau']


def test_the_default_variant_is_the_one_that_trains_the_configs_recipe():
    """'base' measures the config's recipe unless its recorded options say it trained
    another (a record made before the configs' default changed): then the variant whose
    options give the config's recipe is the default; recipes scored with another's
    supernet are not candidates."""
    bench = _bench('bench_rank_fidelity')
    cfg = str(config_path('supernet/quickstart_synthetic.py'))
    other = {'model.sampling': 'fair' if bench.training_recipe(cfg)['sampling'] != 'fair' else 'uniform'}
    assert bench.training_recipe(cfg, other) != bench.training_recipe(cfg)
    assert bench.default_variant(cfg, {'base': {'cfg_options': {}}, 'x': {'cfg_options': other}}) == 'base'
    old = {'base': {'cfg_options': other}, 'ft': {'cfg_options': {}, 'recipe': {'supernet_of': 'base'}},
           'unsaid': {'cfg_options': {}},  # an older record's variant: its recipe is unknown
           'now': {'cfg_options': {'model.seed': 0}, 'recipe': {'supernet_of': None, 'finetune_iters': 0}}}
    assert bench.default_variant(cfg, old) == 'now'
    del old['now']
    assert bench.default_variant(cfg, old) == 'base'  # none trains it: base, as before
