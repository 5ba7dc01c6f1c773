"""Successive halving in the structural search: the plan fits the budget, promotion
follows NSGA-II's order, only the top rung enters the front, reruns train nothing
twice, and a repeated candidate's spread reaches the report. Training is a stand-in
whose score grows with the iterations (a candidate's rank is fixed by its name)."""
import hashlib
import json
import math
from pathlib import Path

import pytest
from optuna.trial import TrialState

from smnas.records import TrialResult
from smnas.reports.structural import write_structural_report
from smnas.search import structural
from smnas.search.halving import nsga2_order, plan, rung_iters, rung_sizes
from smnas.search.study import arch_outcomes
from smnas.search.trial import write_result

from .fake_trials import search_cfg

FULL = int(search_cfg().train_cfg.max_iters)  # the structural config's whole schedule


def fake_run(cfg, trial_dir, timeout=None, env=None):
    trial_dir = Path(trial_dir)
    arch, iters = cfg.candidate['arch'], int(cfg.train_cfg.max_iters)
    seed = int((cfg.get('randomness') or {}).get('seed', 0) or 0)
    with open(Path(cfg.fake_log), 'a') as f:
        f.write(f'{arch} {iters} {seed}\n')
    h = int(hashlib.sha256(arch.encode()).hexdigest()[:8], 16)
    quality = (h % 1000) / 2000
    w, hgt = cfg.candidate['input_size']
    res = TrialResult(arch=arch, input_size=[w, hgt], mAP=quality * iters / FULL + 0.001 * seed, mAP_50=0.0,
                      mAP_se=0.01, latency_ms=w * hgt / 100 + h % 50, flops=1e9, params=1e6, device='fake',
                      train_seconds=float(iters))
    trial_dir.mkdir(parents=True, exist_ok=True)
    return write_result(trial_dir, res)


def run(tmp_path, **fidelity):
    cfg = search_cfg(n_trials=4, population_size=4, fidelity=dict(kind='halving', eta=3, rungs=3, **fidelity))
    cfg.fake_log = str(tmp_path / 'calls.txt')
    s = structural.StructuralSearch(cfg, str(tmp_path))
    return s, s.run()


def calls(tmp_path):
    p = tmp_path / 'calls.txt'
    return [tuple(line.split()) for line in p.read_text().splitlines()] if p.is_file() else []


@pytest.fixture(autouse=True)
def fake_training(monkeypatch):
    monkeypatch.setattr(structural, 'run_trial_subprocess', fake_run)


def test_plan_spends_at_most_the_budget_and_ends_with_the_whole_schedule():
    assert rung_iters(40, 3, 3) == [4, 13, 40] and rung_sizes(12, 3, 3) == [12, 4, 1]
    p = plan(4, 40, 3, 3, space_size=1000)
    assert p['cost_iters'] <= p['budget_iters'] == 160
    # one more rung-0 candidate would overspend
    bigger = rung_sizes(p['sizes'][0] + 1, 3, 3)
    assert sum(n * i for n, i in zip(bigger, p['iters'])) > 160
    assert p['sizes'][0] > 4  # more candidates than the fixed schedule's 4
    assert plan(4, 40, 3, 3, space_size=5)['sizes'][0] == 5  # never more than the space


def test_nsga2_order_ranks_fronts_then_crowding():
    pts = [('a', 0.5, 10), ('b', 0.4, 5), ('c', 0.45, 8), ('d', 0.3, 9), ('e', 0.2, 20)]
    order = nsga2_order(pts)
    assert set(order[:3]) == {'a', 'b', 'c'} and order[:2] in (['a', 'b'], ['b', 'a'])  # extremes first
    assert order[3] == 'd' and order[4] == 'e'


def test_halving_promotes_trains_the_top_rung_fully_and_records_only_it_in_the_front(tmp_path):
    s, study = run(tmp_path, repeats=2)
    p = plan(4, FULL, 3, 3, s.space.count())
    trained = calls(tmp_path)
    by_iters = {i: [c for c in trained if int(c[1]) == i and c[2] == '0'] for i in p['iters']}
    assert [len(by_iters[i]) for i in p['iters']] == p['sizes']
    # each rung's candidates come from the one before, chosen by NSGA-II's order on its scores
    rung0 = {c[0] for c in by_iters[p['iters'][0]]}
    rung1 = {c[0] for c in by_iters[p['iters'][1]]}
    assert rung1 <= rung0
    rec = json.loads((tmp_path / 'fidelity.json').read_text())
    r0 = [(x['arch'], x['mAP'], x['latency_ms']) for x in rec['rungs'][0]['results']]
    assert rung1 == set(nsga2_order(r0)[:p['sizes'][1]])
    # the study: top rung complete (full-schedule scores), lower rungs pruned with theirs
    out = arch_outcomes(study)
    top = {c[0] for c in by_iters[FULL]}
    assert {a for a, o in out.items() if o['state'] == 'complete'} == top
    pruned = [t for t in study.get_trials() if t.state == TrialState.PRUNED]
    assert len(pruned) == p['sizes'][0] + p['sizes'][1]
    assert all(t.intermediate_values for t in pruned)
    # the most accurate top-rung candidate again with seeds 1 and 2: its spread is reported
    best = max(top, key=lambda a: out[a]['values'][0])
    assert sorted(c for c in trained if c[2] != '0') == [(best, str(FULL), '1'), (best, str(FULL), '2')]
    assert rec['repeats']['arch'] == best and len(rec['repeats']['mAPs']) == 3
    assert math.isclose(rec['repeats']['range'], 0.002, abs_tol=1e-9)
    text = write_structural_report(s, study)['report'].read_text()
    assert '## Successive halving' in text and '## Noise of one training' in text and best in text


def test_halving_rerun_trains_nothing_again(tmp_path):
    _, study = run(tmp_path)
    first = calls(tmp_path)
    _, again = run(tmp_path)
    assert calls(tmp_path) == first
    assert len(again.get_trials()) == len(study.get_trials())  # nothing recorded twice


def test_fixed_schedule_records_the_noise_of_its_best_candidate(tmp_path):
    cfg = search_cfg(n_trials=3, population_size=3, fidelity=dict(repeats=1))
    cfg.fake_log = str(tmp_path / 'calls.txt')
    s = structural.StructuralSearch(cfg, str(tmp_path))
    study = s.run()
    rec = json.loads((tmp_path / 'fidelity.json').read_text())
    assert rec['kind'] == 'fixed' and len(rec['repeats']['mAPs']) == 2
    assert [c[2] for c in calls(tmp_path)].count('1') == 1
    assert '## Noise of one training' in write_structural_report(s, study)['report'].read_text()
