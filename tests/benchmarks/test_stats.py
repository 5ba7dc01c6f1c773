"""Statistics of rank fidelity (smnas.benchmarks.stats)."""
import pytest

from smnas.benchmarks.stats import (kendall_tau_rows, linear_fit, rank_agreement, resolved_pairs,
                                    score_agreement, seed_agreement, spearman_rho_rows)


def test_seed_agreement_of_a_ground_truth():
    # three subnets whose two seeds rank them alike; seed means 0.2/0.5/0.8
    seeds = {'a': {'0': 0.05, '1': 0.35}, 'b': {'0': 0.35, '1': 0.65}, 'c': {'0': 0.65, '1': 0.95}}
    g = seed_agreement(seeds, ['0', '1'])
    assert g['seed_pair_tau'] == {'0-1': pytest.approx(1.0)} and g['seeds_per_subnet'] == [2, 2]
    assert g['pooled_std'] == pytest.approx(0.15 * 2 ** 0.5) and g['se_of_mean'] == pytest.approx(0.15)
    assert (g['pairs'], g['pairs_resolved']) == (3, 1)  # only a-c differ by more than 2*sqrt(2)*0.15
    seeds['c'] = {'0': 0.0, '1': 1.0}  # seed 0 ranks c last, seed 1 first: 1 of 3 pairs concordant
    assert seed_agreement(seeds, ['0', '1'])['seed_pair_tau']['0-1'] == pytest.approx(-1 / 3)


def test_a_partial_seed_is_not_ranked():
    # a seed that only some subnets have yet is not ranked against the others (2 subnets: tau +-1)
    seeds = {'a': {'0': 0.05, '1': 0.35, '2': 0.9}, 'b': {'0': 0.35, '1': 0.65, '2': 0.1},
             'c': {'0': 0.0, '1': 1.0}}
    assert seed_agreement(seeds, ['0', '1'])['seed_pair_tau'] == {'0-1': pytest.approx(-1 / 3)}


def test_seed_tau_so_far_ranks_the_subnets_with_both_seeds():
    # seed 1 is trained for 3 of 4 subnets so far: the truth is seed 0 alone, and the two
    # seeds are compared over those 3 (they agree on a > b > c, and 'd' is left out)
    seeds = {'a': {'0': 0.9, '1': 0.8}, 'b': {'0': 0.5, '1': 0.6}, 'c': {'0': 0.1, '1': 0.2}, 'd': {'0': 0.3}}
    g = seed_agreement(seeds, ['0'])
    assert g['seed_pair_tau'] == {} and g['mean_seed_pair_tau'] is None
    assert g['seed_tau_so_far'] == dict(seeds=['0', '1'], subnets=3, kendall_tau=pytest.approx(1.0),
                                        spearman_rho=pytest.approx(1.0))
    seeds['c']['1'] = 0.95  # now seed 1 ranks c first: 1 of 3 pairs concordant
    assert seed_agreement(seeds, ['0'])['seed_tau_so_far']['kendall_tau'] == pytest.approx(-1 / 3)
    # seeds order as numbers, not strings: '2' before '10'
    many = {a: {'10': v, '2': v, '3': v} for a, v in zip('abc', (0.1, 0.2, 0.3))}
    assert seed_agreement(many, ['2', '3', '10'])['seed_tau_so_far']['seeds'] == ['2', '3']


def test_resolved_pairs_list_the_better_subnet_first():
    assert resolved_pairs({'a': 0.2, 'b': 0.5, 'c': 0.8}, 0.15) == [('c', 'a')]


def test_linear_fit_recovers_a_line():
    a, b, r2 = linear_fit([1.0, 2.0, 4.0], [12.0, 14.0, 18.0])
    assert (a, b, r2) == (pytest.approx(10.0), pytest.approx(2.0), pytest.approx(1.0))


def test_batched_tau_and_rho_equal_scipys_row_by_row_ties_included():
    import numpy as np
    from scipy.stats import kendalltau, spearmanr

    rng = np.random.default_rng(0)
    # scores rounded to few values: many ties, as bootstrap draws of subnets have
    x, y = rng.integers(0, 4, (300, 7)).astype(float), rng.integers(0, 5, (300, 7)).astype(float)
    x[0], y[1] = 2.0, 3.0  # rows that tie everywhere on one side: no tau, no rho
    taus, rhos = kendall_tau_rows(x, y), spearman_rho_rows(x, y)
    assert np.isnan(taus[:2]).all() and np.isnan(rhos[:2]).all()
    assert taus[2:] == pytest.approx([kendalltau(a, b)[0] for a, b in zip(x[2:], y[2:])], abs=1e-12)
    assert rhos[2:] == pytest.approx([spearmanr(a, b)[0] for a, b in zip(x[2:], y[2:])], abs=1e-12)
    # one row on the right: every row ranked against it; one row on the left: one draw
    assert kendall_tau_rows(x[2:5], y[7]) == pytest.approx([kendalltau(a, y[7])[0] for a in x[2:5]])
    assert kendall_tau_rows([1, 2, 3], [3, 2, 1]).tolist() == [-1.0]


def test_rank_agreement_of_identical_rankings_is_one_with_a_closed_interval():
    r = rank_agreement([1, 2, 3, 4, 5, 6], [10, 20, 30, 40, 50, 60], resamples=200)
    assert r['kendall_tau'] == pytest.approx(1.0) and r['spearman_rho'] == pytest.approx(1.0)
    assert r['kendall_tau_ci95'] == [pytest.approx(1.0), pytest.approx(1.0)]


def test_the_bootstrap_interval_holds_the_estimate_and_is_seeded():
    x = [0.1, 0.4, 0.2, 0.5, 0.3, 0.8, 0.6, 0.7, 0.9, 0.05]
    y = [0.2, 0.3, 0.1, 0.6, 0.5, 0.7, 0.4, 0.9, 0.8, 0.15]
    r = rank_agreement(x, y, resamples=500, seed=1)
    low, high = r['kendall_tau_ci95']
    assert -1.0 <= low < r['kendall_tau'] < high <= 1.0
    assert rank_agreement(x, y, resamples=500, seed=1) == r
    assert rank_agreement(x, y, resamples=500, seed=2)['kendall_tau_ci95'] != r['kendall_tau_ci95']


def test_projected_seed_tau_falls_with_noise_and_rises_with_seeds():
    from smnas.benchmarks.stats import projected_seed_tau

    values = [0.1 + 0.01 * i for i in range(24)]  # 0.01 mAP apart
    assert projected_seed_tau(values, 0.0, sims=20) == 1.0
    low, mid, high = (projected_seed_tau(values, s, sims=300) for s in (0.002, 0.01, 1.0))
    assert 1.0 > low > mid > high and abs(high) < 0.2
    assert projected_seed_tau(values, 0.01, seeds=4, sims=300) > mid


def test_rank_error_counts_places_between_the_two_rankings():
    from smnas.benchmarks.stats import rank_error

    scores = {'a': 0.9, 'b': 0.5, 'c': 0.7, 'd': 0.1}
    truth = {'a': 0.1, 'b': 0.6, 'c': 0.4, 'd': 0.3}  # 'a' ranks 1st inherited, last trained
    assert rank_error('a', scores, truth) == dict(arch='a', rank_inherited=1, rank_scratch=4, error=3, of=4)
    assert rank_error('b', scores, truth)['error'] == 2
    assert rank_error('x', scores, truth) is None
    # with the truth's noise: a is within 2*sqrt(2)*se (0.0283 at se 0.01) of the means
    # 0.32-0.325 above, so any rank 2-4 is as true as its 4th; 1st lies 1 place outside
    t = {'a': 0.30, 'b': 0.32, 'c': 0.325, 'd': 0.40}
    e = rank_error('a', {'a': 1.0, 'b': 0.0, 'c': 0.5, 'd': 0.7}, t, se=0.01)
    assert (e['rank_inherited'], e['rank_scratch'], e['error']) == (1, 4, 3)
    assert e['scratch_band'] == [2, 4] and e['error_beyond_noise'] == 1
    assert rank_error('a', {'a': 0.0, 'b': 0.1, 'c': 0.2, 'd': 0.3}, t, se=0.01)['error_beyond_noise'] == 0
    assert rank_error('a', {'a': 0.0, 'b': 0.1, 'c': 0.2, 'd': 0.3}, t, se=0.0)['scratch_band'] == [4, 4]


def _seeds_of(values, sigma, n_seeds, rng):
    return {f's{i}': {str(k): v + rng.gauss(0, sigma) for k in range(n_seeds)} for i, v in enumerate(values)}


def test_truth_reliability_recovers_the_split_of_true_and_seed_variance():
    import random

    from smnas.benchmarks.stats import truth_reliability

    rng = random.Random(0)
    values = [rng.gauss(0.4, 0.02) for _ in range(300)]  # true std 0.02, seed std 0.01: icc 0.8
    r = truth_reliability(_seeds_of(values, 0.01, 2, rng), ks=(1, 2), sims=50)
    assert r['subnets'] == 300
    assert r['noise_std'] == pytest.approx(0.01, rel=0.15)
    assert r['true_std'] == pytest.approx(0.02, rel=0.15)
    assert r['icc'] == pytest.approx(0.8, abs=0.08)


def test_truth_reliability_projects_what_more_seeds_buy():
    import random

    from smnas.benchmarks.stats import projected_seed_tau, truth_reliability

    rng = random.Random(1)
    values = [0.35 + 0.004 * i for i in range(24)]
    seeds = _seeds_of(values, 0.01, 2, rng)
    r = truth_reliability(seeds, ks=(1, 2, 4, 16), target=0.8, sims=300)
    taus = [r['projected'][k]['seed_vs_seed'] for k in ('1', '2', '4', '16')]
    assert taus == sorted(taus) and taus[0] < 0.8 <= taus[-1]
    assert r['seeds_for_target'] == next(k for k, t in zip((1, 2, 4, 16), taus) if t >= 0.8)
    # a ranking by k seeds agrees with the true order better than with another noisy one
    assert all(r['projected'][k]['vs_true'] > r['projected'][k]['seed_vs_seed'] for k in r['projected'])
    # on an even spread it projects what projected_seed_tau does for that spread and noise
    one = projected_seed_tau(values, r['noise_std'], 1, sims=300)
    assert r['projected']['1']['seed_vs_seed'] == pytest.approx(one, abs=0.12)
    assert truth_reliability(seeds, ks=(1, 2, 4, 16), target=0.8, sims=300) == r  # seeded


def test_choice_reliability_projects_the_order_within_a_choices_values():
    """Two head widths far apart, the subnets of each close together: across widths every
    truth agrees, within one width two 1-seed truths barely do and more seeds close the gap;
    a k-seed truth agrees with the true order at least as well as with another k-seed truth;
    seeded."""
    import random

    from smnas.benchmarks.stats import choice_reliability

    rng = random.Random(2)
    values = [0.30 + 0.002 * i for i in range(8)] + [0.50 + 0.002 * i for i in range(8)]
    seeds = _seeds_of(values, 0.01, 3, rng)
    head = {f's{i}': 128 if i < 8 else 256 for i in range(16)}
    one = {a: 0 for a in head}  # every subnet one value: every pair within it
    r = choice_reliability(seeds, {'head': head, 'one': one}, ks=(1, 4, 64), sims=300)
    within = [r['head']['projected'][k]['seed_vs_seed'] for k in ('1', '4', '64')]
    assert r['head']['pairs'] == 2 * 28 and r['one']['pairs'] == 120
    assert within == sorted(within) and within[0] < 0.4 and within[-1] > 0.8
    # all pairs, the across ones included (resolved at any k), agree far better than within
    assert r['one']['projected']['1']['seed_vs_seed'] > within[0] + 0.2
    assert all(p['vs_true'] >= p['seed_vs_seed'] for p in r['head']['projected'].values())
    assert choice_reliability(seeds, {'head': head, 'one': one}, ks=(1, 4, 64), sims=300) == r
    # a choice of distinct values has no pair within one: left out
    assert choice_reliability(seeds, {'each': {a: a for a in head}}, ks=(1,), sims=10) == {}
    assert choice_reliability({'a': {'0': 0.1}}, {'head': {'a': 1}}) is None


def test_truth_reliability_needs_three_subnets_with_two_seeds():
    from smnas.benchmarks.stats import truth_reliability

    assert truth_reliability({'a': {'0': 0.1, '1': 0.2}, 'b': {'0': 0.3}, 'c': {'0': 0.4, '1': 0.4}}) is None
    exact = {a: {'0': v, '1': v} for a, v in zip('abc', (0.1, 0.2, 0.3))}  # no seed noise at all
    r = truth_reliability(exact, ks=(1,), sims=10)
    assert r['noise_std'] == 0 and r['icc'] == 1 and r['projected']['1']['seed_vs_seed'] == 1.0


def test_paired_tau_difference_sees_a_better_ranking_and_not_an_equal_one():
    import random

    from smnas.benchmarks.stats import paired_tau_difference

    rng = random.Random(0)
    truth = [0.01 * i for i in range(24)]
    good = [t + rng.gauss(0, 0.01) for t in truth]  # tau near 0.8
    poor = [t + rng.gauss(0, 0.2) for t in truth]  # tau near 0.1
    d = paired_tau_difference(good, poor, truth, resamples=400)
    low, high = d['difference_ci95']
    assert 0 < low < d['difference'] < high and d['beyond_noise']
    flipped = paired_tau_difference(poor, good, truth, resamples=400)
    assert flipped['difference'] == pytest.approx(-d['difference'])
    # a ranking against itself differs by exactly 0 in every draw: not beyond noise
    same = paired_tau_difference(good, good, truth, resamples=200)
    assert same['difference'] == 0 and same['difference_ci95'] == [0.0, 0.0] and not same['beyond_noise']
    assert paired_tau_difference(good, poor, truth, resamples=400) == d  # seeded


def test_pooled_tau_difference_is_the_mean_of_each_pairs_on_the_same_draws():
    """Pooled over supernets, a score that ranks a little better in each shows beyond the
    noise no one of them leaves out; one that wins in one and loses in another does not."""
    import random

    from smnas.benchmarks.stats import paired_tau_difference, pooled_tau_difference

    rng = random.Random(1)
    truth = [0.01 * i for i in range(24)]

    def scoring(sd):
        return [t + rng.gauss(0, sd) for t in truth]

    pairs = [(scoring(0.03), scoring(0.06)) for _ in range(4)]
    each = [paired_tau_difference(x, y, truth, resamples=400) for x, y in pairs]
    d = pooled_tau_difference(pairs, truth, resamples=400)
    assert d['pooled'] == 4 and d['each'] == pytest.approx([e['difference'] for e in each])
    assert d['difference'] == pytest.approx(sum(d['each']) / 4)
    assert d['beyond_noise'] and 0 < d['difference_ci95'][0]
    # the pooled interval is narrower than one pair's (the pairs' noise averages out)
    assert d['difference_ci95'][1] - d['difference_ci95'][0] < min(
        e['difference_ci95'][1] - e['difference_ci95'][0] for e in each)
    # one pair and its mirror: a mean difference of exactly 0 in every draw
    x, y = pairs[0]
    even = pooled_tau_difference([(x, y), (y, x)], truth, resamples=200)
    assert even['difference'] == 0 and even['difference_ci95'] == [0.0, 0.0] and not even['beyond_noise']
    # one pair: the paired difference itself
    one = pooled_tau_difference([(x, y)], truth, resamples=400)
    assert one['difference_ci95'] == each[0]['difference_ci95']
    with pytest.raises(ValueError, match='at least one pair'):
        pooled_tau_difference([], truth)
    with pytest.raises(ValueError, match='the 24 items'):
        pooled_tau_difference([(x[:5], y[:5])], truth)


def test_score_agreement_says_when_the_loss_ranks_beyond_noise_better_than_the_map():
    """A val loss that orders 20 subnets as the truth does, against an mAP that orders them
    backwards: the loss's tau minus the mAP's is 2, beyond noise; the blend ties them."""
    archs = [f's{i}' for i in range(20)]
    truth = [float(i) for i in range(20)]
    inh = {a: dict(mAP=-t, val_loss=-t) for a, t in zip(archs, truth)}
    out = score_agreement(inh, archs, truth, min_arch='s0')
    d = out['val_loss']['tau_minus_mAP']
    assert d['difference'] == pytest.approx(2.0) and d['beyond_noise']
    assert out['mAP']['kendall_tau'] == pytest.approx(-1.0) and 'tau_minus_mAP' not in out['mAP']
    # s0, last from scratch: first by the backwards mAP, last by the loss
    assert out['mAP']['min_subnet'] == dict(arch='s0', rank_inherited=1, rank_scratch=20, error=19, of=20)
    assert out['val_loss']['min_subnet']['error'] == 0
    assert 'min_subnet' not in score_agreement(inh, archs, truth)['mAP']


def test_score_agreement_ranks_by_the_box_blend_where_every_subnet_has_the_box_loss():
    """20 subnets whose mAP is noise-free but squeezed into two levels, and whose box loss
    orders them within each level: the blend ranks all 20 as the truth does, the mAP ties
    within levels; without the term on one subnet there is no box_blend."""
    archs = [f's{i}' for i in range(20)]
    truth = [float(i) for i in range(20)]
    inh = {a: dict(mAP=float(i >= 10), val_loss=1.0 + i % 3,
                   val_loss_terms=dict(loss_bbox=1.0 - 0.01 * i, loss_cls=0.5))
           for i, a in enumerate(archs)}
    out = score_agreement(inh, archs, truth)
    assert out['box_blend']['kendall_tau'] == pytest.approx(1.0)
    assert out['mAP']['kendall_tau'] < 0.8
    assert out['box_blend']['tau_minus_mAP']['difference'] > 0.2
    del inh['s3']['val_loss_terms']['loss_bbox']
    assert 'box_blend' not in score_agreement(inh, archs, truth)


def test_choice_effects_split_the_concordance_within_and_across_a_choices_values():
    """A score that orders the head widths right and everything within a width backwards:
    the head's means agree (tau 1), its across-value pairs all concord, its within-value
    pairs all discord; a choice whose values the truth does not separate is reported too."""
    from smnas.benchmarks.stats import choice_effects

    archs = [f's{i}' for i in range(6)]
    head = dict(zip(archs, [128, 128, 128, 256, 256, 256]))
    neck = dict(zip(archs, [1, 2, 1, 2, 1, 2]))
    truth = dict(zip(archs, [0.30, 0.31, 0.32, 0.40, 0.41, 0.42]))
    score = dict(zip(archs, [0.12, 0.11, 0.10, 0.22, 0.21, 0.20]))  # reversed within a width
    e = choice_effects({'head': head, 'neck': neck, 'one': {a: 0 for a in archs}}, score, truth)
    assert set(e) == {'head', 'neck'}  # a choice with one value separates nothing
    h = e['head']
    assert h['tau_of_means'] == 1.0 and h['values']['128']['n'] == 3
    assert h['across'] == dict(pairs=9, tau=1.0) and h['within'] == dict(pairs=6, tau=-1.0)
    assert abs(h['values']['256']['truth_mean'] - 0.41) < 1e-12
    # each width's own pairs: all reversed; the score spreads 0.02 where the truth spreads 0.02
    assert [m['tau'] for m in h['values'].values()] == [-1.0, -1.0]
    assert h['values']['128']['score_spread'] == pytest.approx(0.02)
    assert h['values']['256']['truth_spread'] == pytest.approx(0.02)
    assert e['neck']['within']['pairs'] + e['neck']['across']['pairs'] == 15
    # a subnet without a score is left out of every count
    del score['s0']
    assert choice_effects({'head': head}, score, truth)['head']['within']['pairs'] == 4


def test_choice_effects_per_value_tau_finds_the_value_a_ranking_gets_wrong():
    """Right within one head width, wrong within the other: the within tau mixes them, each
    value's tau tells them apart (weighted by its pairs, they make the within tau); a value
    with one subnet has no pairs and no tau."""
    from smnas.benchmarks.stats import choice_effects

    archs = [f's{i}' for i in range(7)]
    head = dict(zip(archs, [128, 128, 128, 256, 256, 256, 512]))
    truth = dict(zip(archs, [0.30, 0.31, 0.32, 0.40, 0.41, 0.42, 0.50]))
    score = dict(zip(archs, [0.10, 0.11, 0.12, 0.22, 0.21, 0.20, 0.30]))
    e = choice_effects({'head': head}, score, truth)['head']
    v = e['values']
    assert v['128']['tau'] == 1.0 and v['256']['tau'] == -1.0 and v['512']['tau'] is None
    assert v['512']['score_spread'] == 0.0 and v['512']['n'] == 1
    assert e['within'] == dict(pairs=6, tau=0.0)
    # one pair of the first width swapped in score: 1 of its 3 pairs discords
    score['s0'], score['s1'] = score['s1'], score['s0']
    swapped = choice_effects({'head': head}, score, truth)['head']['values']
    assert swapped['128']['tau'] == pytest.approx(1 / 3)
    # of the pairs the truth resolves (better first), those within a width and those across
    resolved = [('s2', 's0'), ('s5', 's3'), ('s6', 's0'), ('s3', 's2')]
    e = choice_effects({'head': head}, score, truth, resolved)['head']
    assert (e['within']['resolved'], e['within']['resolved_agreed']) == (2, 1)  # s5-s3 reversed
    assert (e['across']['resolved'], e['across']['resolved_agreed']) == (2, 2)
    assert 'resolved' not in choice_effects({'head': head}, score, truth)['head']['within']


def test_dominant_choice_is_the_one_that_explains_most_of_the_truth():
    """Head width moves the truth by 0.10, neck width by 0.01: head dominates; a choice with
    one value, or a truth that does not vary, names none."""
    from smnas.benchmarks.stats import dominant_choice

    archs = [f's{i}' for i in range(4)]
    head = dict(zip(archs, [128, 128, 256, 256]))
    neck = dict(zip(archs, [128, 256, 128, 256]))
    truth = dict(zip(archs, [0.30, 0.31, 0.40, 0.41]))
    assert dominant_choice({'neck': neck, 'head': head}, truth) == 'head'
    assert dominant_choice({'neck': neck, 'head': head}, dict(zip(archs, [0.30, 0.40, 0.31, 0.41]))) == 'neck'
    assert dominant_choice({'one': {a: 0 for a in archs}}, truth) is None
    assert dominant_choice({'head': head}, {a: 0.3 for a in archs}) is None


def test_stratified_effects_measure_each_choice_within_the_dominant_one():
    """Two head widths 0.10 apart, and within each a 512 neck 0.02 below a 128 one: the neck's
    effect within a head width is -0.01 / +0.01 whatever the heads' offset; a seed's offset
    common to every subnet cancels (its standard error stays 0 where the seeds differ only by
    it); a score that misses the neck's effect ties (tau None), one that reverses it gets -1."""
    from smnas.benchmarks.stats import stratified_effects

    archs = [f's{i}' for i in range(4)]
    head = dict(zip(archs, [128, 128, 256, 256]))
    neck = dict(zip(archs, [128, 512, 128, 512]))
    base = dict(zip(archs, [0.30, 0.28, 0.40, 0.38]))
    seeds = {a: {'0': base[a], '1': base[a] + 0.05, '2': base[a] - 0.02} for a in archs}
    choices = {'head': head, 'neck': neck}
    e = stratified_effects(choices, seeds, ['0', '1', '2'], 'head')
    assert e['given'] == 'head' and set(e['choices']) == {'neck'}
    v = e['choices']['neck']['values']
    assert v['128']['truth'] == pytest.approx(0.01) and v['512']['truth'] == pytest.approx(-0.01)
    assert v['128']['n'] == 2 and v['128']['truth_se'] == pytest.approx(0.0, abs=1e-12)
    assert 'score' not in v['128'] and 'tau_of_effects' not in e['choices']['neck']
    # noise on one subnet of one seed: the effect moves by its share, and carries a standard error
    seeds['s1']['2'] -= 0.03
    v = stratified_effects(choices, seeds, ['0', '1', '2'], 'head')['choices']['neck']['values']
    assert v['512']['truth'] == pytest.approx(-0.01 - 0.03 / 2 / 2 / 3)
    assert v['512']['truth_se'] > 0
    # a ranking: each score's effect alike, and how it orders the values against the truth's
    flat = {a: 0.5 + (0.1 if head[a] == 256 else 0) for a in archs}
    e = stratified_effects(choices, seeds, ['0', '1', '2'], 'head', flat)['choices']['neck']
    assert e['values']['512']['score'] == pytest.approx(0.0) and e['tau_of_effects'] is None
    wrong = {a: flat[a] + (0.01 if neck[a] == 512 else 0) for a in archs}
    e = stratified_effects(choices, seeds, ['0', '1', '2'], 'head', wrong)['choices']['neck']
    assert e['tau_of_effects'] == pytest.approx(-1.0)
    assert stratified_effects(choices, seeds, ['0'], 'head') is None  # one seed: no standard error
    assert stratified_effects(choices, seeds, ['0', '1'], 'expand') is None


def test_seed_choice_effects_average_every_pair_of_seeds():
    """Three seeds: the truth's ceiling per choice is the mean over the 3 seed pairs, not one
    pair's; the values' truth means are over every seed; fewer than 2 seeds give None."""
    from smnas.benchmarks.stats import choice_effects, seed_choice_effects

    archs = [f's{i}' for i in range(4)]
    head = dict(zip(archs, [128, 128, 256, 256]))
    # seeds 0 and 1 order the within-width pairs alike, seed 2 reverses them
    seeds = {'s0': {'0': 0.30, '1': 0.30, '2': 0.32}, 's1': {'0': 0.31, '1': 0.31, '2': 0.30},
             's2': {'0': 0.40, '1': 0.40, '2': 0.42}, 's3': {'0': 0.41, '1': 0.41, '2': 0.40}}
    e = seed_choice_effects({'head': head}, seeds, ['0', '1', '2'])['head']
    assert e['seed_pairs'] == 3
    assert e['within'] == dict(pairs=2, tau=pytest.approx((1 - 1 - 1) / 3))
    assert e['across'] == dict(pairs=4, tau=1.0) and e['tau_of_means'] == 1.0
    assert e['values']['128'] == dict(n=2, truth_mean=pytest.approx((0.30 * 2 + 0.32 + 0.31 * 2 + 0.30) / 6),
                                      tau=pytest.approx((1 - 1 - 1) / 3))
    # two seeds: exactly choice_effects of one against the other
    two = seed_choice_effects({'head': head}, seeds, ['0', '2'])['head']
    one = choice_effects({'head': head}, {a: m['0'] for a, m in seeds.items()},
                         {a: m['2'] for a, m in seeds.items()})['head']
    assert two['within'] == one['within'] and two['across'] == one['across']
    assert seed_choice_effects({'head': head}, seeds, ['0']) is None


def test_seed_choice_effects_of_split_truths_compare_the_means_of_disjoint_halves():
    """split=True: each of the 3 splits of 3 seeds (one against the mean of the other two) is
    choice_effects of those means, and the result their average; the halves are the splits
    split_seed_agreement ranks; fewer than 3 seeds give None."""
    import statistics

    from smnas.benchmarks.stats import choice_effects, seed_choice_effects, seed_splits, split_seed_agreement

    archs = [f's{i}' for i in range(4)]
    head = dict(zip(archs, [128, 128, 256, 256]))
    seeds = {'s0': {'0': 0.30, '1': 0.30, '2': 0.32}, 's1': {'0': 0.31, '1': 0.31, '2': 0.30},
             's2': {'0': 0.40, '1': 0.43, '2': 0.42}, 's3': {'0': 0.41, '1': 0.40, '2': 0.40}}
    assert seed_splits(['0', '1', '2']) == [(['0'], ['1', '2']), (['1'], ['0', '2']), (['2'], ['0', '1'])]
    assert [len(a) for a, _ in seed_splits(list('0123'))] == [2, 2, 2]  # 2 against 2, each once
    splits = split_seed_agreement(seeds, ['0', '1', '2'])['splits']
    assert list(splits) == ['0 vs 1+2', '1 vs 0+2', '2 vs 0+1']
    e = seed_choice_effects({'head': head}, seeds, ['0', '1', '2'], split=True)['head']
    each = [choice_effects({'head': head}, {a: statistics.fmean(m[k] for k in one) for a, m in seeds.items()},
                           {a: statistics.fmean(m[k] for k in other) for a, m in seeds.items()})['head']
            for one, other in seed_splits(['0', '1', '2'])]
    assert e['seed_pairs'] == 3
    assert e['within']['tau'] == pytest.approx(statistics.fmean(x['within']['tau'] for x in each))
    assert e['values']['256']['tau'] == pytest.approx(
        statistics.fmean(x['values']['256']['tau'] for x in each))
    # seed 0 against the mean of 1 and 2: s0 < s1 (0.30 < 0.31) there, s0 > s1 (0.31 > 0.305) here
    assert each[0]['values']['128']['tau'] == -1.0 and e['across']['tau'] == 1.0
    assert seed_choice_effects({'head': head}, seeds, ['0', '1'], split=True) is None


def test_loss_term_agreement_ranks_by_each_term_alone():
    """Each term of the val loss ranks the subnets on its own (lower is better), paired
    against the ranking by mAP; a subnet scored without terms leaves nothing to rank."""
    from smnas.benchmarks.stats import loss_term_agreement

    archs = ['a', 'b', 'c', 'd', 'e', 'f']
    truth = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6]
    # the mAP orders the truth but for one swapped pair; loss_cls orders it exactly
    maps = [0.1, 0.3, 0.2, 0.4, 0.5, 0.6]
    inh = {a: dict(mAP=maps[i], val_loss_terms=dict(loss_cls=1.0 - i / 10, loss_bbox=i / 10, loss_x=1.0))
           for i, a in enumerate(archs)}
    out = loss_term_agreement(inh, archs, truth)
    assert out['loss_cls']['kendall_tau'] == pytest.approx(1.0)
    assert out['loss_bbox']['kendall_tau'] == pytest.approx(-1.0)
    # tau of the mAP is 1 - 2 * 1/15; the terms' differences are measured on the same draws
    assert out['loss_cls']['tau_minus_mAP']['difference'] == pytest.approx(2 / 15)
    assert out['loss_bbox']['tau_minus_mAP']['difference'] == pytest.approx(-2 + 2 / 15)
    assert out['loss_bbox']['tau_minus_mAP']['beyond_noise']
    lo, hi = out['loss_cls']['tau_minus_mAP']['difference_ci95']
    assert 0 <= lo <= hi
    del inh['c']['val_loss_terms']['loss_x']  # a term some subnet lacks is left out
    assert set(loss_term_agreement(inh, archs, truth)) == {'loss_cls', 'loss_bbox'}
    inh['d'] = {}
    assert loss_term_agreement(inh, archs, truth) == {}


def test_split_seed_agreement_ranks_disjoint_halves_of_the_seeds():
    from smnas.benchmarks.stats import split_seed_agreement

    # seed 0 ranks a > b > c; seeds 1 and 2 average to c > b > a
    seeds = {'a': {'0': 0.9, '1': 0.1, '2': 0.1}, 'b': {'0': 0.5, '1': 0.45, '2': 0.55},
             'c': {'0': 0.1, '1': 0.8, '2': 0.9}}
    g = split_seed_agreement(seeds, ['0', '1', '2'])
    assert g['sizes'] == [1, 2] and set(g['splits']) == {'0 vs 1+2', '1 vs 0+2', '2 vs 0+1'}
    assert g['splits']['0 vs 1+2'] == pytest.approx(-1.0)
    assert g['kendall_tau'] == pytest.approx(sum(g['splits'].values()) / 3)
    four = {a: {str(k): v + 0.01 * k for k in range(4)} for a, v in zip('abc', (0.1, 0.2, 0.3))}
    g = split_seed_agreement(four, ['0', '1', '2', '3'])
    assert g['sizes'] == [2, 2] and set(g['splits']) == {'0+1 vs 2+3', '0+2 vs 1+3', '0+3 vs 1+2'}
    assert g['kendall_tau'] == pytest.approx(1.0)
    assert split_seed_agreement(four, ['0', '1']) is None


def test_the_projection_of_a_split_matches_its_measurement():
    """On many subnets drawn from the projection's own model (true mAP plus seed noise),
    the measured tau between 1 seed and the mean of 2 others is what truth_reliability
    projects for that split, and lies between the projections for 1 and 2 seeds a side."""
    import random

    from smnas.benchmarks.stats import split_seed_agreement, truth_reliability

    rng = random.Random(2)
    values = [rng.gauss(0.4, 0.02) for _ in range(400)]
    seeds = _seeds_of(values, 0.015, 3, rng)
    r = truth_reliability(seeds, ks=(1, 2), sims=40, split=(1, 2))
    measured = split_seed_agreement(seeds, ['0', '1', '2'])['kendall_tau']
    assert r['projected_split']['sizes'] == [1, 2]
    assert measured == pytest.approx(r['projected_split']['seed_vs_seed'], abs=0.04)
    assert r['projected']['1']['seed_vs_seed'] < r['projected_split']['seed_vs_seed'] < \
        r['projected']['2']['seed_vs_seed']
    assert 'projected_split' not in truth_reliability(seeds, ks=(1,), sims=5)


def test_disattenuated_tau_undoes_the_truths_noise():
    """On many subnets drawn from the model (true mAP; a ranking with errors of its own; a
    truth of k seeds), the tau against the noisy truth, corrected, is the tau against the
    true order, and projects what a truth of more seeds measures."""
    import random

    from scipy.stats import kendalltau

    from smnas.benchmarks.stats import disattenuated_tau

    rng = random.Random(3)
    values = [rng.gauss(0.4, 0.02) for _ in range(2000)]
    ranking = [v + rng.gauss(0, 0.008) for v in values]
    noise = 0.015

    def truth(k):
        return [v + rng.gauss(0, noise / k ** 0.5) for v in values]

    def rel(k):
        return 0.02 ** 2 / (0.02 ** 2 + noise ** 2 / k)

    measured = kendalltau(ranking, truth(2))[0]
    true = kendalltau(ranking, values)[0]
    assert measured < true - 0.05  # the truth's noise costs the ranking a visible part of its tau
    assert disattenuated_tau(measured, rel(2)) == pytest.approx(true, abs=0.02)
    assert disattenuated_tau(measured, rel(2), rel(8)) == pytest.approx(kendalltau(ranking, truth(8))[0],
                                                                         abs=0.02)
    assert disattenuated_tau(0.6, 0.7, 0.7) == pytest.approx(0.6)  # the same truth: unchanged
    assert disattenuated_tau(0.95, 0.5) == pytest.approx(1.0)  # beyond what the noise allows: capped
    assert disattenuated_tau(-0.4, 0.8) == pytest.approx(-disattenuated_tau(0.4, 0.8))


def test_attenuation_check_sets_projection_beside_measurement():
    import random

    from smnas.benchmarks.stats import attenuation_check, truth_reliability

    rng = random.Random(4)
    seeds = _seeds_of([rng.gauss(0.4, 0.02) for _ in range(400)], 0.015, 4, rng)
    r = truth_reliability(seeds, ks=(1,), sims=5)
    c = attenuation_check(seeds, ['0', '1', '2', '3'], r)
    assert set(c['per_seed']) == {'0', '1', '2', '3'}
    assert c['measured'] == pytest.approx(c['projected'], abs=0.03)
    assert all(v['against_rest'] > v['measured'] for v in c['per_seed'].values())  # a 3-seed mean is surer
    assert attenuation_check(seeds, ['0', '1'], r) is None


def test_held_out_seed_check_tests_the_model_on_a_seed_it_was_not_fitted_on():
    import random

    from smnas.benchmarks.stats import held_out_seed_check

    rng = random.Random(6)
    values = [rng.gauss(0.4, 0.02) for _ in range(300)]
    seeds = _seeds_of(values, 0.012, 5, rng)
    for m in seeds.values():
        m['4'] -= 0.03  # a seed that trains every subnet worse: no ranking sees it
    c = held_out_seed_check(seeds, ['0', '1', '2', '3', '4'], sims=20)
    assert c['held_out'] == '4' and c['fit_seeds'] == ['0', '1', '2', '3']
    for key in ('vs_one', 'vs_rest'):
        assert c['measured'][key] == pytest.approx(c['projected'][key], abs=0.04)
    assert c['measured']['vs_rest'] > c['measured']['vs_one']  # a 4-seed mean is surer than one seed
    # a held-out seed trained noisier than the fit's (another protocol, a broken machine) fails the check
    for a, m in seeds.items():
        m['4'] = values[int(a[1:])] + rng.gauss(0, 0.03)
    c = held_out_seed_check(seeds, ['0', '1', '2', '3', '4'], sims=20)
    assert c['measured']['vs_rest'] < c['projected']['vs_rest'] - 0.1
    assert held_out_seed_check(seeds, ['0', '1', '2']) is None


def test_seed_offsets_split_a_common_shift_from_the_noise_rankings_see():
    import random

    from smnas.benchmarks.stats import seed_offsets

    rng = random.Random(5)
    shift = {'0': 0.01, '1': 0.0, '2': -0.01, '3': 0.0}  # seed 0 trains every subnet better
    values = [rng.gauss(0.4, 0.02) for _ in range(300)]
    seeds = {f's{i}': {k: v + shift[k] + rng.gauss(0, 0.01) for k in shift} for i, v in enumerate(values)}
    o = seed_offsets(seeds, list(shift))
    assert o['offsets']['0'] - o['offsets']['2'] == pytest.approx(0.02, abs=0.004)
    assert o['offset_std'] == pytest.approx(0.0082, abs=0.002)  # std of (+0.01, 0, -0.01, 0)
    assert o['residual_std'] == pytest.approx(0.01, rel=0.1) and o['p'] < 1e-6
    plain = {a: {k: m[k] - shift[k] for k in m} for a, m in seeds.items()}  # no common shift
    q = seed_offsets(plain, list(shift))
    assert q['offset_std'] < 0.002 and q['share'] < 0.05
    assert q['residual_std'] == pytest.approx(o['residual_std'])  # the shift is not noise to a ranking
    assert seed_offsets(seeds, ['0']) is None
    # the noise a ranking sees: the shift taken out of the seed-to-seed std and of the projection
    from smnas.benchmarks.stats import seed_agreement, truth_reliability

    g = seed_agreement(seeds, list(shift), o['offsets'])
    assert g['pooled_std'] == pytest.approx(0.01, rel=0.1) and g['raw_std'] > 0.0115
    assert g['pooled_std'] == pytest.approx(seed_agreement(plain, list(shift), q['offsets'])['pooled_std'])
    r = truth_reliability(seeds, ks=(1,), sims=5, offsets=o['offsets'])
    assert r['noise_std'] == pytest.approx(g['pooled_std'])
    assert truth_reliability(seeds, ks=(1,), sims=5)['noise_std'] == pytest.approx(g['raw_std'])
    # a seed only some subnets have: its offset over those subnets
    seeds['s0']['4'] = seeds['s0']['0'] - 0.02
    assert seed_offsets(seeds, list(shift))['offsets']['4'] == pytest.approx(
        seeds['s0']['0'] - 0.02 - sum(seeds['s0'][k] for k in shift) / 4)


def test_the_corrected_taus_interval_resamples_the_reliability_too():
    import random

    from scipy.stats import kendalltau

    from smnas.benchmarks.stats import (disattenuated_tau, disattenuated_tau_interval, mean_reliability,
                                        truth_reliability)

    rng = random.Random(6)
    values = [rng.gauss(0.4, 0.02) for _ in range(40)]
    seeds = _seeds_of(values, 0.012, 3, rng)
    scores = {f's{i}': v + rng.gauss(0, 0.006) for i, v in enumerate(values)}
    truth = {a: sum(m.values()) / 3 for a, m in seeds.items()}
    archs = list(seeds)
    tau = kendalltau([scores[a] for a in archs], [truth[a] for a in archs])[0]
    point = disattenuated_tau(tau, mean_reliability(truth_reliability(seeds, ks=(1,), sims=5), 3))
    lo, hi = disattenuated_tau_interval(scores, seeds, ['0', '1', '2'], resamples=400)
    assert lo < point < hi <= 1.0
    assert lo < kendalltau([scores[a] for a in archs], values)[0] < hi  # the tau against the true order
    assert disattenuated_tau_interval(scores, seeds, ['0', '1', '2'], resamples=400) == [lo, hi]  # seeded
    # a truth with no spread between subnets leaves the correction unknown: the interval is wide
    flat = {a: {k: 0.4 + rng.gauss(0, 0.01) for k in '012'} for a in seeds}
    lo, hi = disattenuated_tau_interval(scores, flat, ['0', '1', '2'], resamples=400)
    assert hi - lo > 0.8
    ties = dict.fromkeys(seeds, 0.5)  # a ranking of all-equal scores has no tau
    assert disattenuated_tau_interval(ties, seeds, ['0', '1', '2'], resamples=400) is None


# Four subnets by cost; the true front is a, b and d (c costs more than b for less mAP).
# Reference point: (worst mAP 0.1, 1.1 x cost 4.4): the front's hypervolume is
# 1 x (0.1 - 0.1) + 2 x (0.3 - 0.1) + 0.4 x (0.4 - 0.1) = 0.52.
FRONT_COST = {'a': 1.0, 'b': 2.0, 'c': 3.0, 'd': 4.0}
FRONT_TRUTH = {'a': 0.1, 'b': 0.3, 'c': 0.2, 'd': 0.4}


def test_front_recovery_values_the_finalists_a_ranking_leads_to_at_their_true_map():
    from smnas.benchmarks.stats import front_recovery

    exact = front_recovery(FRONT_TRUTH, FRONT_TRUTH, FRONT_COST)
    assert exact['true_front'] == ['a', 'b', 'd'] and exact['finalists'] == ['a', 'b', 'd']
    assert exact['hv_ratio'] == pytest.approx(1.0) and exact['on_true_front'] == 3
    # preferring the cheapest: it dominates every other subnet, and holds no area above the worst
    cheap = front_recovery({'a': 0.4, 'b': 0.3, 'c': 0.2, 'd': 0.1}, FRONT_TRUTH, FRONT_COST)
    assert cheap['finalists'] == ['a'] and cheap['hv_ratio'] == pytest.approx(0.0)
    # by cost: every subnet is on its front; 2 finalists spread by cost are the ends
    both = front_recovery(FRONT_COST, FRONT_TRUTH, FRONT_COST, finalists=2)
    assert both['finalists'] == ['a', 'd'] and both['hv_ratio'] == pytest.approx(0.4 * 0.3 / 0.52)
    assert front_recovery(FRONT_COST, FRONT_TRUTH, FRONT_COST)['hv_ratio'] == pytest.approx(1.0)


def test_front_recovery_draws_resample_the_truths_seeds_and_pair_the_rankings():
    from smnas.benchmarks.stats import front_recovery_draws, front_recovery_references, paired_difference

    noiseless = {a: {'0': m, '1': m, '2': m} for a, m in FRONT_TRUTH.items()}
    rankings = {'exact': FRONT_TRUTH, 'cheap': {'a': 0.4, 'b': 0.3, 'c': 0.2, 'd': 0.1}}
    draws = front_recovery_draws(rankings, noiseless, ['0', '1', '2'], FRONT_COST, resamples=50)
    assert draws['exact'] == [pytest.approx(1.0)] * 50 and draws['cheap'] == [pytest.approx(0.0)] * 50
    d = paired_difference(draws['cheap'], draws['exact'], -1.0)
    assert d['beyond_noise'] and d['difference_ci95'] == [pytest.approx(-1.0)] * 2
    assert not paired_difference(draws['exact'], draws['exact'], 0.0)['beyond_noise']
    assert front_recovery_draws(rankings, noiseless, ['0'], FRONT_COST) is None  # one seed: no noise known
    # seed 1 swaps b and c: the truth's noise now reaches the exact ranking's front
    noisy = dict(noiseless, b={'0': 0.3, '1': 0.15, '2': 0.3}, c={'0': 0.2, '1': 0.35, '2': 0.2})
    spread = front_recovery_draws({'exact': FRONT_TRUTH}, noisy, ['0', '1', '2'], FRONT_COST, resamples=200)
    assert min(spread['exact']) < 1.0 - 1e-9 and max(spread['exact']) == pytest.approx(1.0)
    ref = front_recovery_references(noiseless, ['0', '1', '2'], FRONT_COST, sims=300)
    assert ref['seed_vs_rest'] == {s: pytest.approx(1.0) for s in '012'}  # training agrees with itself
    assert 0.0 < ref['random']['mean'] < 1.0 and ref['random']['ci95'][0] == pytest.approx(0.0)


def test_ensemble_projection_predicts_the_mean_of_more_supernets():
    """Supernets of one recipe drawn from the model (its own order, off the truth by a bias;
    each seed adding noise of its own): projected from two of them, the tau of the mean of
    10 is what the mean of 10 drawn measures, and the limit is the recipe's own order's tau,
    above any finite mean's; members that share no order project nothing."""
    import random

    from scipy.stats import kendalltau

    from smnas.benchmarks.stats import ensemble_projection

    rng = random.Random(5)
    n = 600
    truth = {i: rng.gauss(0.4, 0.02) for i in range(n)}
    own = {i: v + rng.gauss(0, 0.008) for i, v in truth.items()}  # what every seed of the recipe shares

    def member():
        return {i: v + rng.gauss(0, 0.01) for i, v in own.items()}

    def tau(scores):
        return kendalltau([scores[i] for i in range(n)], [truth[i] for i in range(n)])[0]

    two = [member(), member()]
    p = ensemble_projection(two, truth, ks=(1, 2, 10), resamples=200)
    assert p['members'] == 2 and p['subnets'] == n and 0 < p['reliability'] < 1
    ten = [member() for _ in range(10)]
    mean10 = {i: sum(m[i] for m in ten) / 10 for i in truth}
    assert p['projected'][1] == pytest.approx(p['member_tau'], abs=0.01)
    assert p['member_tau_sd'] == pytest.approx(abs(tau(two[0]) - tau(two[1])) / 2 ** 0.5)
    assert p['projected'][2] == pytest.approx(tau({i: two[0][i] + two[1][i] for i in truth}), abs=0.03)
    assert p['projected'][10] == pytest.approx(tau(mean10), abs=0.03)
    assert p['projected'][10] > p['projected'][2] > p['projected'][1] + 0.02
    assert p['limit'] == pytest.approx(tau(own), abs=0.03) and p['limit'] > p['projected'][10]
    low, high = p['limit_ci95']
    assert low < p['limit'] < high
    # seeds with nothing in common: no order to project
    noise = {i: rng.random() for i in truth}
    assert ensemble_projection([noise, {i: -v for i, v in noise.items()}], truth) is None
    assert ensemble_projection(two[:1], truth) is None


def test_members_subsets_ranks_the_mean_of_every_k_of_the_members():
    """Every subset of K supernets, for K = 1 to all: the mean of their scores ranked against
    the truth with its interval; K = 1 is each member's own tau; too few members or subnets
    give none."""
    from scipy.stats import kendalltau

    from smnas.benchmarks.stats import members_subsets

    truth = {i: 0.1 * i for i in range(8)}
    noise = [0.3, -0.2, 0.25, -0.3, 0.1, -0.05, 0.2, -0.15]
    members = {'a': {i: t + noise[i] for i, t in truth.items()},
               'b': {i: t - noise[i] for i, t in truth.items()},  # its errors cancel a's
               'c': {i: t + noise[(i + 3) % 8] for i, t in truth.items()}}
    out = members_subsets(members, truth, resamples=300)
    assert sorted(out) == [1, 2, 3] and [len(out[k]) for k in (1, 2, 3)] == [3, 3, 1]
    assert [s['members'] for s in out[2]] == [['a', 'b'], ['a', 'c'], ['b', 'c']]
    y = [truth[i] for i in range(8)]
    for s in out[1]:
        m = members[s['members'][0]]
        assert s['kendall_tau'] == pytest.approx(kendalltau([m[i] for i in range(8)], y)[0])
        low, high = s['kendall_tau_ci95']
        assert low <= s['kendall_tau'] <= high
    assert out[2][0]['kendall_tau'] == pytest.approx(1.0)  # a and b: the truth exactly
    assert max(s['kendall_tau'] for s in out[1]) < 1.0
    # a subnet one member lacks is left out; one member or two subnets give nothing
    partial = dict(members, c={i: v for i, v in members['c'].items() if i != 0})
    assert members_subsets(partial, truth, resamples=50)[2][0]['kendall_tau'] == pytest.approx(1.0)
    assert members_subsets({'a': members['a']}, truth) is None
    assert members_subsets({n: {0: m[0], 1: m[1]} for n, m in members.items()}, truth) is None
