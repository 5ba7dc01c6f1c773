"""A JSON store that several processes update (smnas.benchmarks.store)."""
import multiprocessing as mp

import pytest

from smnas.benchmarks.store import JsonStore


def _add_keys(path, prefix, n):
    store = JsonStore(path)
    for i in range(n):
        with store.update() as state:
            state.setdefault('results', {})[f'{prefix}{i}'] = i


def test_an_update_keeps_what_another_writer_stored_since(tmp_path):
    mine, theirs = JsonStore(tmp_path / 's.json'), JsonStore(tmp_path / 's.json')
    with mine.update() as s:
        s['subnets'] = {'a': {'mAP': 0.1}}
    with theirs.update() as s:          # another process adds its search time
        s['search_seconds'] = 50.0
    with mine.update() as s:            # this one adds a seed: the search time stays
        s['subnets']['a']['seeds'] = {'1': 0.3}
    assert mine.read() == {'subnets': {'a': {'mAP': 0.1, 'seeds': {'1': 0.3}}}, 'search_seconds': 50.0}


def test_an_update_that_fails_writes_nothing(tmp_path):
    store = JsonStore(tmp_path / 's.json')
    with store.update() as s:
        s['a'] = 1
    with pytest.raises(RuntimeError):
        with store.update() as s:
            s['a'] = 2
            raise RuntimeError('stopped mid-change')
    assert store.read() == {'a': 1}


def test_processes_updating_at_once_lose_nothing(tmp_path):
    path = tmp_path / 's.json'
    ctx = mp.get_context('spawn')
    procs = [ctx.Process(target=_add_keys, args=(path, p, 30)) for p in 'xy']
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    assert all(p.exitcode == 0 for p in procs)
    assert len(JsonStore(path).read()['results']) == 60
