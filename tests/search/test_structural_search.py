"""The structural search loop: dedup, failures, resume, determinism, workers, report.

Training is replaced by a deterministic stand-in (tests/search/fake_trials.py, for
each test of this module only); the real trial process is exercised in test_trial.py.
"""
import multiprocessing as mp

import optuna
import pytest

from smnas.reports.structural import write_structural_report
from smnas.search.study import arch_outcomes

from . import fake_trials
from .fake_trials import calls, run_search, trial_archs, worker_main


@pytest.fixture(autouse=True)
def fake_training(monkeypatch):
    fake_trials.install(monkeypatch)


def test_search_reaches_target_without_training_any_arch_twice(tmp_path):
    s, study = run_search(tmp_path, n_trials=8, population_size=4)
    out = arch_outcomes(study)
    assert sum(o['state'] == 'complete' for o in out.values()) == 8
    trained = calls(tmp_path)
    assert len(trained) == len(set(trained)) == 8
    dups = [t for t in study.get_trials() if 'duplicate_of' in t.user_attrs]
    for t in dups:  # a repeated proposal is pruned: generations hold distinct architectures only
        orig = study.get_trials()[t.user_attrs['duplicate_of']]
        assert t.state == optuna.trial.TrialState.PRUNED and t.user_attrs['arch'] == orig.user_attrs['arch']
    complete = [t.user_attrs['arch'] for t in study.get_trials()
                if t.state == optuna.trial.TrialState.COMPLETE]
    assert len(complete) == len(set(complete)) == 8
    paths = write_structural_report(s, study)
    for key in ('report', 'pareto', 'trials_csv'):
        assert paths[key].is_file()
    assert 'C0' in paths and paths['C0'].read_text().count('candidate') >= 1
    text = paths['report'].read_text()
    assert '| C0 |' in text and 'hypervolume' in text
    assert ' ± 0.0125 |' in text and 'bootstrap over the val images' in text  # every mAP with its noise
    assert (tmp_path / 'tensorboard').is_dir()


def test_same_seed_same_search(tmp_path):
    _, a = run_search(tmp_path / 'a', n_trials=6, population_size=4, seed=3)
    _, b = run_search(tmp_path / 'b', n_trials=6, population_size=4, seed=3)
    _, c = run_search(tmp_path / 'c', n_trials=6, population_size=4, seed=4)
    assert trial_archs(a) == trial_archs(b)
    assert trial_archs(a) != trial_archs(c)


def test_failed_candidate_is_recorded_and_search_completes(tmp_path):
    _, study = run_search(tmp_path, n_trials=8, population_size=4, fail='mv2')
    out = arch_outcomes(study)
    failed = [o for o in out.values() if o['state'] == 'failed']
    assert failed and all('non-finite' in o['error'] for o in failed)
    assert sum(o['state'] in ('complete', 'failed') for o in out.values()) >= 8
    assert sum(o['state'] == 'complete' for o in out.values()) >= 1


def test_rerun_resumes_without_retraining(tmp_path):
    run_search(tmp_path, n_trials=4, population_size=4)
    first = calls(tmp_path)
    _, study = run_search(tmp_path, n_trials=7, population_size=4)
    second = calls(tmp_path)
    assert second[:len(first)] == first and len(second) == len(set(second)) == 7
    run_search(tmp_path, n_trials=7, population_size=4)  # nothing left to do
    assert calls(tmp_path) == second


def test_stored_results_are_reused_after_a_lost_study(tmp_path):
    run_search(tmp_path, n_trials=4, population_size=4)
    (tmp_path / 'study.db').unlink()  # e.g. the database was lost; results on disk remain
    _, study = run_search(tmp_path, n_trials=4, population_size=4)
    assert len(calls(tmp_path)) == 4  # same seed, same archs: all reused from disk


def test_threads_and_processes_share_one_study_without_duplicates(tmp_path):
    _, study = run_search(tmp_path / 'threads', workers=2, n_trials=6, population_size=4)
    trained = calls(tmp_path / 'threads')
    assert len(trained) == len(set(trained)) >= 6

    ctx = mp.get_context('spawn')
    procs = [ctx.Process(target=worker_main, args=(str(tmp_path / 'procs'), 8)) for _ in range(2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(300)
    assert all(p.exitcode == 0 for p in procs)
    trained = calls(tmp_path / 'procs')
    assert len(trained) == len(set(trained)) >= 8
    study = optuna.load_study(study_name='structural', storage=f'sqlite:///{tmp_path / "procs" / "study.db"}')
    assert len(arch_outcomes(study)) == len(trained)


def test_study_of_another_space_is_refused(tmp_path):
    run_search(tmp_path, n_trials=2, population_size=4)
    from .fake_trials import search_cfg
    from smnas.search.structural import StructuralSearch
    cfg = search_cfg(n_trials=2)
    cfg.search_space.backbones = ['r18']
    with pytest.raises(ValueError, match='another space'):
        StructuralSearch(cfg, str(tmp_path)).open()


def test_a_repeated_proposal_queues_a_random_replacement(tmp_path):
    # a small population on a 20-architecture target repeats itself: each repeat is pruned
    # and a uniform draw over the same choices is evaluated in its place
    _, study = run_search(tmp_path, n_trials=20, population_size=4, seed=0)
    trials = study.get_trials()
    dups = [t for t in trials if 'duplicate_of' in t.user_attrs]
    queued = [t for t in trials if 'fixed_params' in t.system_attrs]
    assert dups and queued and len(queued) <= len(dups)
    for t in queued:
        assert t.number > min(d.number for d in dups)
        assert {k: t.params[k] for k in t.system_attrs['fixed_params']} == t.system_attrs['fixed_params']
