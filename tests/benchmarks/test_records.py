"""Records of the rank-fidelity benchmark (smnas.benchmarks.records)."""
import json

import pytest

from smnas.benchmarks.records import logged_train_seconds, subnet_seeds, variant_names


def test_logged_train_seconds_takes_the_latest_run_of_each_step(tmp_path):
    for run, lines in (('20260101_000000', [(10, 1.0), (20, 1.0), (30, 9.0)]),   # killed, slow at 30
                       ('20260101_010000', [(30, 2.0), (40, 2.0)])):             # resumed from 20
        d = tmp_path / run / 'vis_data'
        d.mkdir(parents=True)
        recs = [dict(lr=0.1, time=t, step=s) for s, t in lines] + [dict(time=99.0, step=40)]  # a val line
        (d / 'scalars.json').write_text('\n'.join(json.dumps(r) for r in recs))
    assert logged_train_seconds(tmp_path) == pytest.approx(10 * 1.0 + 10 * 1.0 + 10 * 2.0 + 10 * 2.0)


def test_variant_names_list_base_first(tmp_path):
    for name in ('random3', 'base', 'distill'):
        (tmp_path / f'variant_{name}.json').write_text('{}')
    (tmp_path / 'truth.json').write_text('{}')
    assert variant_names(tmp_path) == ['base', 'distill', 'random3']


def test_a_subnet_seeds_include_the_noise_run_of_that_subnet_only():
    noise = dict(arch='b', mAP={'0': 0.2, '1': 0.25})
    assert subnet_seeds('b', dict(mAP_scratch=0.2), noise) == {'0': 0.2, '1': 0.25}
    assert subnet_seeds('a', dict(mAP_scratch=0.1, mAP_scratch_seeds={'0': 0.1, '2': 0.3}), noise) == \
        {'0': 0.1, '2': 0.3}
