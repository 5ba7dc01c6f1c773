"""Study helpers: front, hypervolume, spread, concurrent creation and use of one SQLite study."""
import multiprocessing as mp
import warnings
from concurrent.futures import ThreadPoolExecutor

import optuna

from smnas.search.pareto import dominated_by, hypervolume_2d, pareto_front, spread_along
from smnas.search.study import open_study


def test_pareto_front_and_hypervolume():
    pts = [('a', 0.5, 10.0), ('b', 0.3, 5.0), ('c', 0.4, 12.0), ('d', 0.6, 20.0), ('e', 0.3, 6.0)]
    front = pareto_front(pts)
    assert [p[0] for p in front] == ['b', 'a', 'd']  # c dominated by a, e by b
    # strips: [5,10) x .3 + [10,20) x .5 + [20,30) x .6
    assert abs(hypervolume_2d(front, 30.0) - (1.5 + 5.0 + 6.0)) < 1e-9
    assert hypervolume_2d(front, 30.0) > hypervolume_2d(front[:2], 30.0)
    assert hypervolume_2d([], 30.0) == 0.0


def test_spread_along_front():
    assert spread_along(list(range(4)), 6) == [0, 1, 2, 3]
    picks = spread_along(list(range(11)), 6)
    assert picks[0] == 0 and picks[-1] == 10 and len(picks) == 6
    assert spread_along(list(range(11)), 1) == [10]  # one finalist: the most accurate (was 1/0)
    assert spread_along(list(range(11)), 0) == []


def _create(url, q):
    try:
        s = open_study(url, 'race', ['maximize', 'minimize'], optuna.samplers.RandomSampler(seed=0))
        q.put(s.study_name)
    except Exception as e:  # reported to the parent
        q.put(repr(e))


def test_two_processes_create_the_same_sqlite_study_at_once(tmp_path):
    url = f'sqlite:///{tmp_path / "study.db"}'
    ctx = mp.get_context('spawn')
    q = ctx.Queue()
    procs = [ctx.Process(target=_create, args=(url, q)) for _ in range(3)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
    results = [q.get(timeout=5) for _ in procs]
    assert results == ['race'] * 3, results
    assert len(optuna.get_all_study_summaries(url)) == 1


def test_workers_never_pop_the_same_queued_trial(tmp_path):
    # Optuna's own SQLite pop raced (optuna/optuna#4621): with 8 threads on 20 queued
    # trials, every one of 10 repetitions handed some trial to two threads (measured
    # before the fix); a duplicate here means the state lock is gone.
    url = f'sqlite:///{tmp_path / "study.db"}'
    study = open_study(url, 'queue', ['maximize'], optuna.samplers.RandomSampler(seed=0))
    for i in range(20):
        study.enqueue_trial({'x': i})

    def pop(_):
        with warnings.catch_warnings():  # heartbeats outside optimize(): irrelevant here
            warnings.simplefilter('ignore')
            return study.ask().number

    with ThreadPoolExecutor(8) as ex:
        numbers = list(ex.map(pop, range(20)))
    assert sorted(numbers) == list(range(20))


def test_dominance_names_who_dominates_whom():
    pts = [('E0', 0.30, 5.0), ('R18', 0.28, 9.0), ('R34', 0.33, 12.0), ('E1', 0.30, 5.0)]
    assert dominated_by(pts) == {'E0': [], 'R18': ['E0', 'E1'], 'R34': [], 'E1': []}


def test_spread_subnets_cover_the_cost_range_ends_included():
    import random

    from smnas.search.pareto import spread_subnets
    from supernet.space import ModularSpace, Subnet

    space = ModularSpace(bases=(48, 64), max_depths=(2, 2, 2, 2), neck_channels=(128, 256),
                         head_channels=(128, 256))

    def cost(s):  # any monotone-ish cost will do: widths and depth
        sub = Subnet.parse(s)
        return sub.base * sum(len(b) for b in sub.stages) + sub.neck + sub.head

    picks = spread_subnets(space, cost, 6, random.Random(0), pool=300)
    assert len(picks) == len(set(picks)) == 6
    assert picks[0] == str(space.min_subnet()) and picks[-1] == str(space.max_subnet())
    costs = [cost(s) for s in picks]
    assert costs == sorted(costs)
    assert spread_subnets(space, cost, 6, random.Random(0), pool=300) == picks  # seeded
    lo, hi = costs[1], costs[-2]
    kept = spread_subnets(space, cost, 4, random.Random(0), pool=300, keep=lambda s: lo <= cost(s) <= hi)
    assert len(kept) == 4 and all(lo <= cost(s) <= hi for s in kept)
    assert cost(kept[0]) == lo and cost(kept[-1]) == hi  # the range's own ends
    assert spread_subnets(space, cost, 4, random.Random(0), keep=lambda s: False) == []


def test_coarse_to_fine_puts_the_ends_first_then_halves():
    from smnas.search.pareto import coarse_to_fine

    assert coarse_to_fine(list(range(9))) == [0, 8, 4, 2, 6, 1, 3, 5, 7]
    for n in range(0, 12):
        assert sorted(coarse_to_fine(list(range(n)))) == list(range(n))  # each once
