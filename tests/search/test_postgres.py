"""Several search workers on one PostgreSQL study, as on several machines.

Needs a server: ``SMNAS_TEST_POSTGRES`` (a ``postgresql://`` URL of a database where
tests may create databases); ``.ci/run`` starts a throwaway one. Skipped without it.
Each test gets its own database. Workers are separate processes sharing the work dir
(shared storage in a real deployment).
"""
import json
import multiprocessing as mp
import os
import signal
import time
import uuid
from pathlib import Path

import pytest
import torch

URL = os.environ.get('SMNAS_TEST_POSTGRES')
pytestmark = pytest.mark.skipif(not URL, reason='no PostgreSQL server (SMNAS_TEST_POSTGRES)')


@pytest.fixture
def database():
    """A fresh database on the server; dropped afterwards."""
    import psycopg

    name = f'smnas_{uuid.uuid4().hex[:12]}'
    with psycopg.connect(URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE {name}')
    yield URL.rsplit('/', 1)[0] + '/' + name
    with psycopg.connect(URL, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE {name} WITH (FORCE)')


# ---------------------------------------------------------------- structural search
def _structural_worker(work_dir, storage, n_trials, sleep, block_first):
    """A worker process of the structural search with the stand-in trainer; with
    ``block_first`` its first training never ends (it is killed during it)."""
    from unittest import mock

    from smnas.register import register_all_modules
    from smnas.search import structural

    from .fake_trials import fake_run, search_cfg

    register_all_modules()
    state = dict(first=True)

    def run(cfg, trial_dir, timeout=None, env=None):
        if block_first and state['first']:
            (Path(work_dir) / 'blocked_arch.txt').write_text(cfg.candidate['arch'])
            time.sleep(3600)
        state['first'] = False
        time.sleep(sleep)  # a training that takes a while, so the search outlasts the grace period
        return fake_run(cfg, trial_dir)

    with mock.patch.object(structural, 'run_trial_subprocess', run):
        structural.StructuralSearch(search_cfg(n_trials=n_trials, population_size=4), work_dir,
                                    storage=storage).run()


def _spawn(target, *args):
    p = mp.get_context('spawn').Process(target=target, args=args)
    p.start()
    return p


def test_structural_workers_share_a_study_and_finish_a_killed_workers_trial(database, tmp_path, monkeypatch):
    from smnas.search.study import arch_outcomes, open_study

    from .fake_trials import calls, fake_run, search_cfg

    monkeypatch.setenv('SMNAS_HEARTBEAT_SECONDS', '1')  # inherited by the spawned workers
    work = str(tmp_path / 'search')
    victim = _spawn(_structural_worker, work, database, 10, 0.0, True)
    marker = Path(work) / 'blocked_arch.txt'
    deadline = time.time() + 120
    while not marker.is_file() and time.time() < deadline:
        time.sleep(0.2)
    assert marker.is_file(), 'the first worker never started a training'
    others = [_spawn(_structural_worker, work, database, 10, 0.7, False) for _ in range(2)]
    os.kill(victim.pid, signal.SIGKILL)  # mid-trial
    victim.join(30)
    for p in others:
        p.join(600)
    assert [p.exitcode for p in others] == [0, 0]
    # one more worker, as a late machine would: it also finishes what is still queued
    last = _spawn(_structural_worker, work, database, 10, 0.0, False)
    last.join(600)
    assert last.exitcode == 0

    trained = calls(work)
    assert len(trained) == len(set(trained)), 'an architecture was trained twice'
    study = open_study(database, 'structural', ['maximize', 'minimize'], None)
    done = {a: o for a, o in arch_outcomes(study).items() if o['state'] == 'complete'}
    assert len(done) >= 10
    blocked = marker.read_text()
    assert blocked in done, "the killed worker's architecture was not finished by another worker"
    # every result is what one worker computes for that architecture
    from smnas.search.structural import StructuralSearch
    from smnas.structural.space import Candidate
    ref = StructuralSearch(search_cfg(n_trials=1), str(tmp_path / 'ref'))
    for arch, o in done.items():
        r = fake_run(ref.candidate_config(Candidate.parse(arch)), tmp_path / 'ref' / 'trials' / arch)
        assert o['values'] == [r.mAP, getattr(r, ref.cost_key)]


# ---------------------------------------------------------------- subnet search
def _subnet_worker(cfg_dict, ckpt, work_dir, storage):
    from mmengine.config import Config

    from smnas.register import register_all_modules
    from smnas.search.subnet import SubnetSearch

    register_all_modules()
    torch.set_num_threads(1)
    SubnetSearch(Config(cfg_dict), ckpt, work_dir, storage=storage).run()


def test_subnet_workers_share_a_study_with_real_inherited_scoring(database, tmp_path):
    from mmengine.config import Config

    from smnas.evaluation.inherited import InheritedEvaluator
    from smnas.search.study import arch_outcomes, open_study
    from smnas.search.pareto import pareto_front
    from smnas.search.subnet import SUBNET_DEFAULTS

    from .test_subnet_search import tiny_supernet

    cfg, ckpt = tiny_supernet(tmp_path / 'data')
    # ranked by the val loss: each subnet by its loss, the front's mAP once by one of the workers
    cfg.merge_from_dict({'subnet_search.n_trials': 9, 'subnet_search.score': 'val_loss'})
    work = str(tmp_path / 'search')
    procs = [_spawn(_subnet_worker, cfg.to_dict(), ckpt, work, database) for _ in range(3)]
    for p in procs:
        p.join(900)
    assert [p.exitcode for p in procs] == [0, 0, 0]
    study = open_study(database, 'subnet', ['maximize', 'minimize'], None)
    outcomes = arch_outcomes(study)
    done = {a: o for a, o in outcomes.items() if o['state'] == 'complete'}
    assert len(done) >= 9
    evaluated = [p.parent.name for p in (tmp_path / 'search' / 'trials').glob('*/result.json')]
    assert sorted(evaluated) == sorted(done), 'an architecture was scored twice or lost'
    ev = InheritedEvaluator(Config(cfg.to_dict()), ckpt, str(tmp_path / 'ref'))
    seed = int({**SUBNET_DEFAULTS, **cfg.get('subnet_search', {})}['seed'])
    for arch, o in list(done.items())[:4]:  # scored by one worker in this process: the same
        # the val loss, minimised
        assert o['values'][0] == pytest.approx(-ev.val_loss(arch, seed=seed), rel=1e-5)
    # the front's mAP, scored once (under a lock) by whichever worker got there first
    front = pareto_front([(a, o['values'][0], o['values'][1]) for a, o in done.items()])
    for arch, _, _ in front:
        stored = json.loads((tmp_path / 'search' / 'trials' / arch / 'result.json').read_text())
        assert stored['mAP'] == pytest.approx(ev.evaluate(arch)['mAP'])
