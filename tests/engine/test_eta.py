"""The pipeline's whole-run ETA: stage prices from measured rates, summed over the
stages left; unknown until the rates that price them are measured."""
import pytest

from smnas.engine.eta import PipelineEta, PipelinePlan, parse_hms

PLAN = PipelinePlan(structural_trials=6, structural_iters=40, supernet_iters=300, supernet_members=3,
                    search_trials=20, val_images=50, finalists=3, retrain_iters=600)


def test_stages_are_priced_from_the_rates():
    eta = PipelineEta(PLAN, dict(trial_s=40.0, iter_s=0.5, image_s=0.02))
    assert eta.stage_seconds('structural') == 240
    assert eta.stage_seconds('supernet') == 300 * 3 * 0.5
    assert eta.stage_seconds('subnet_search') == pytest.approx(20 * 50 * 0.02)
    assert eta.stage_seconds('retrain') == pytest.approx(3 * (600 * 0.5 + 50 * 0.02))
    total = 240 + 450 + 20 + 903
    assert eta.remaining('structural') == pytest.approx(total)
    # inside a stage, its own ETA replaces the estimate; finished stages cost nothing
    assert eta.remaining('supernet', stage_left=100) == pytest.approx(100 + 20 + 903)
    eta.done.add('subnet_search')
    assert eta.remaining('supernet', stage_left=100) == pytest.approx(100 + 903)


def test_an_ensemble_trains_each_supernet_and_scores_each_subnet_with_each():
    from dataclasses import replace

    eta = PipelineEta(replace(PLAN, supernet_seeds=3), dict(trial_s=40.0, iter_s=0.5, image_s=0.02))
    assert eta.stage_seconds('supernet') == 3 * 300 * 3 * 0.5
    assert eta.stage_seconds('subnet_search') == pytest.approx(3 * 20 * 50 * 0.02)
    assert eta.stage_seconds('retrain') == pytest.approx(3 * (600 * 0.5 + 50 * 0.02))  # one each


def test_unknown_until_measured():
    eta = PipelineEta(PLAN, dict(trial_s=40.0))
    assert eta.remaining('structural') is None
    assert eta.line('structural', 100) == ' | pipeline ETA: after the structural stage'
    eta.rates.update(iter_s=0.5, image_s=0.02)
    line = eta.line('structural', 100, now=0)
    assert 'pipeline ETA' in line and f'~{(100 + 450 + 20 + 903) / 60:.0f} min left' in line


def test_parse_hms():
    assert parse_hms('0:01:05') == 65 and parse_hms('1 day, 0:00:10') == 86410 and parse_hms('x') is None


def test_rates_from_trials_are_means_with_the_eval_allowance():
    from smnas.engine.eta import EVAL_ALLOWANCE, rates_from_trials

    r = rates_from_trials([dict(train_seconds=40, latency_ms=20), dict(train_seconds=80, latency_ms=40),
                           dict(error='x')], iters=40)
    assert r['iter_s'] == pytest.approx(1.5) and r['image_s'] == pytest.approx(0.03 * EVAL_ALLOWANCE)
    assert rates_from_trials([], 40) == {} and rates_from_trials([dict(train_seconds=1)], 0) == {}
