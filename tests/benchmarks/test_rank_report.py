"""The rank benchmark's numbers from stored trainings and scores (smnas.benchmarks.rank_report)."""
import pytest

from smnas.benchmarks.rank_report import GroundTruth, print_summary, subnet_choices

# Four subnets of two head widths; seeds 0-1 of every one, seed 2 of one only (a run stopped
# half-way through seed 2): the truth is the mean of seeds 0 and 1.
A, B, C, D = '48_1-2-2-2_n128_h128', '56_1-2-2-2_n128_h128', '48_1-2-2-2_n128_h256', '56_1-2-2-2_n256_h256'
SEEDS = {A: {'0': 0.30, '1': 0.32, '2': 0.34}, B: {'0': 0.33, '1': 0.31},
         C: {'0': 0.52, '1': 0.50}, D: {'0': 0.50, '1': 0.56}}


def test_the_truth_is_the_mean_of_the_seeds_every_subnet_has():
    gt = GroundTruth.of(SEEDS)
    assert gt.truth_seeds == ['0', '1']
    assert gt.truth == pytest.approx({A: 0.31, B: 0.32, C: 0.51, D: 0.53})
    assert gt.agreement['seed_pair_tau'] == {'0-1': pytest.approx(1 / 3)}  # A-B and C-D swap
    # only the pairs across head widths lie beyond the noise of a 2-seed mean
    assert sorted(map(sorted, gt.resolved)) == sorted([sorted(p) for p in ((A, C), (A, D), (B, C), (B, D))])
    assert gt.reliability['subnets'] == 4 and 0 < gt.oracle <= 1
    # seed 1 is 0.01 above seed 0 on average: a shift common to the subnets, not noise to a ranking;
    # seed 2, which only A has so far, 0.03 above A's truth
    assert gt.agreement['seed_offsets']['offsets'] == pytest.approx({'0': -0.005, '1': 0.005, '2': 0.03})
    assert 'raw_std' in gt.agreement  # the std with the offsets left in, beside it
    # seed 2, half-way through its subnets, changes neither the noise nor its projections
    whole = GroundTruth.of({a: {k: m[k] for k in ('0', '1')} for a, m in SEEDS.items()})
    assert (gt.agreement['pooled_std'], gt.agreement['raw_std']) == (whole.agreement['pooled_std'],
                                                                     whole.agreement['raw_std'])
    assert gt.reliability == whole.reliability and gt.oracle == whole.oracle
    fields = gt.record_fields(subnet_choices(SEEDS))
    assert set(fields) == {'ground_truth_seeds', 'truth_choice_effects', 'projected_24',
                           'ground_truth_reliability'}
    assert fields['ground_truth_reliability']['oracle_tau'] == gt.oracle
    assert 'attenuation_check' not in fields['ground_truth_reliability']  # it needs 3 seeds a subnet
    assert GroundTruth.of({a: {'0': m['0']} for a, m in SEEDS.items()}).record_fields({}) == {}  # one seed


def test_a_recipe_is_ranked_against_the_truth():
    gt = GroundTruth.of(SEEDS)
    rows = {a: dict(mAP_scratch=m['0']) for a, m in SEEDS.items()}
    # the truth's order by mAP, the reverse of it by val loss (lower is better: D's loss is highest)
    inherited = {a: dict(mAP=m, val_loss=m) for a, m in gt.truth.items()}
    r = gt.rank_recipe(inherited, list(SEEDS), rows, A, subnet_choices(SEEDS))
    assert r['kendall_tau'] == pytest.approx(1.0)
    assert r['by_score']['val_loss']['kendall_tau'] == pytest.approx(-1)
    assert r['kendall_tau_seed0'] == pytest.approx(2 / 3)  # seed 0 alone puts C above D
    assert r['min_subnet']['rank_inherited'] == r['min_subnet']['rank_scratch'] == 4
    assert (r['resolved_pairs'], r['resolved_pairs_agreed']) == (4, 4)
    assert r['tau_over_oracle'] == pytest.approx(1 / gt.oracle) and r['tau_over_ceiling'] == pytest.approx(3)
    assert r['choice_effects']['mAP']['head']['tau_of_means'] == pytest.approx(1.0)
    # corrected for the truth's noise: at least the tau measured, and falling toward it as the
    # projected truth averages more seeds
    p = r['projected_tau']
    assert p['vs_true'] >= r['kendall_tau'] - 1e-9
    assert set(p['vs_seeds']) == {'3', '4', '5', '6', '8', '10'}  # the truth has 2 seeds
    assert p['vs_seeds']['3'] <= p['vs_seeds']['8'] <= p['vs_true'] + 1e-9


def test_the_report_names_a_recipe_not_ranked_yet(capsys):
    s = dict(subnets={A: dict(gflops=1.0, mAP_scratch_mean=0.31, scratch_seeds=2)},
             variants={}, variants_under_way={'distill': dict(subnets=0)}, scratch_over_inherited=None)
    print_summary(s)
    assert 'distill: not ranked yet (0 subnets scored' in capsys.readouterr().out
