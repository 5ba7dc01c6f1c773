"""The rank benchmark's numbers from stored trainings and scores (smnas.benchmarks.rank_report)."""
import pytest

from smnas.benchmarks.rank_report import (GroundTruth, mean_scores, member_agreement, own_supernets,
                                          pooled_loss_terms, print_summary, seed_groups, subnet_choices)

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
                           'ground_truth_reliability', 'truth_choice_reliability', 'truth_stratified_effects'}
    # the head width orders most of this truth: base and neck are measured within one head width
    st = fields['truth_stratified_effects']
    assert st['given'] == 'head' and set(st['choices']) == {'base', 'neck'}
    # within the 256 head, D (neck 256) is 0.01 above the head's mean; C (neck 128) below it
    assert st['choices']['neck']['values']['256']['truth'] == pytest.approx(0.01)
    # within one head width (A-B, C-D: 2 pairs), as projected from these trainings' noise
    assert fields['truth_choice_reliability']['head']['pairs'] == 2
    ks = fields['truth_choice_reliability']['head']['projected']
    assert set(ks) == {'1', '2', '3', '5', '7', '10', '20', '40'}
    assert fields['ground_truth_reliability']['oracle_tau'] == gt.oracle
    assert 'attenuation_check' not in fields['ground_truth_reliability']  # it needs 3 seeds a subnet
    assert GroundTruth.of({a: {'0': m['0']} for a, m in SEEDS.items()}).record_fields({}) == {}  # one seed


def test_every_recipe_is_ranked_with_its_seeds_mean_and_paired_with_the_default():
    """rank_variants on plain states: a recipe that scored every subnet is ranked, one that
    scored some is under way with a first look; two seeds of a recipe also rank by their
    mean (with its projection to more seeds), a mean over recipes where asked; each is
    paired with the default on the same subnets."""
    gt = GroundTruth.of(SEEDS)
    rows = {a: dict(mAP_scratch=m['0']) for a, m in SEEDS.items()}
    order = {A: 0.1, B: 0.2, C: 0.3, D: 0.4}  # the truth's order
    swapped = {A: 0.2, B: 0.1, C: 0.4, D: 0.3}  # both within-head pairs swapped

    def state(scores, **opts):  # the val loss orders as the mAP
        return dict(inherited={a: dict(mAP=m, val_loss=1 - m) for a, m in scores.items()}, cfg_options=opts)

    states = {'d': state(order, **{'model.distill': 'outputs'}),
              'd_seed1': state(swapped, **{'model.distill': 'outputs', 'model.seed': 1}),
              'e': state(swapped), 'late': state({A: 0.3, C: 0.1})}
    v = gt.rank_variants(states, rows, A, subnet_choices(SEEDS), 'd', {'d': 5.0, 'd_seed1': 6.0},
                         means=[['d', 'e'], ['d', 'late']])
    assert v['d']['kendall_tau'] == pytest.approx(1.0) and v['e']['kendall_tau'] == pytest.approx(1 / 3)
    assert 'kendall_tau' not in v['late'] and v['late']['interim']['kendall_tau'] == pytest.approx(-1.0)
    x2 = v['d_x2']
    assert x2['ensemble_of'] == ['d', 'd_seed1'] and x2['mean_over'] == 'seeds'
    assert x2['supernet_seconds'] == 11
    assert x2['members_agreement']['mean_kendall_tau'] == pytest.approx(1 / 3)
    assert set(x2['members_projection']['projected']) == {1, 2, 3, 5, 10}
    assert x2['members_projection_by_score']['val_loss'] == x2['members_projection']
    assert v['d+e']['mean_over'] == 'recipes' and 'members_projection' not in v['d+e']
    assert 'd+late' not in v  # late has not scored every subnet
    assert v['e']['tau_minus_default']['difference'] == pytest.approx(1 / 3 - 1)
    assert 'tau_minus_default' not in v['d']

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
    # the 4 pairs the truth resolves all lie across head widths, and the ranking orders them all
    head = r['choice_effects']['mAP']['head']
    assert (head['across']['resolved'], head['across']['resolved_agreed']) == (4, 4)
    assert head['within']['resolved'] == 0
    assert r['choice_effects']['val_loss']['head']['across']['resolved_agreed'] == 0  # reversed
    # scored by the truth itself: each choice's effect within a head width is the truth's
    st = r['stratified_effects']
    assert st['given'] == 'head'
    for e in st['choices'].values():
        assert e['tau_of_effects'] == pytest.approx(1.0)
        assert all(m['score'] == pytest.approx(m['truth']) for m in e['values'].values())
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
    # a ranking by two seeds' mean scores says whose, and how alike they rank
    s['variants'] = {'d_x2': dict(mAP_inherited={A: 0.3}, kendall_tau=0.5, kendall_p=0.1, spearman_rho=0.6,
                                  spearman_p=0.1, subnets=3, ensemble_of=['d', 'd_seed1'],
                                  members_agreement=dict(subnets=3, mean_kendall_tau=1 / 3))}
    print_summary(s)
    assert ('ranked by the mean score of d, d_seed1 (one recipe, 2 seeds); they rank alike at Kendall '
            'tau 0.333 over 3 subnets') in capsys.readouterr().out


def test_the_report_prints_each_head_widths_tau_and_the_split_truths(capsys):
    """Four seeds: the summary prints, per choice, the tau within each of its values, for
    one seed against another and for two truths of 2 seeds each."""
    seeds = {a: {k: m[k] for k in ('0', '1')} for a, m in SEEDS.items()}
    for a, (x, y) in zip(seeds, ((0.31, 0.33), (0.30, 0.34), (0.51, 0.52), (0.50, 0.55))):
        seeds[a].update({'2': x, '3': y})
    fields = GroundTruth.of(seeds).record_fields(subnet_choices(seeds))
    split = fields['truth_choice_effects_split']['head']
    assert split['seed_pairs'] == 3 and set(split['values']) == {'128', '256'}
    s = dict(subnets={A: dict(gflops=1.0, mAP_scratch_mean=0.31, scratch_seeds=4)}, variants={},
             scratch_over_inherited=None, truth_seeds=['0', '1', '2', '3'], **fields)
    print_summary(s)
    out = capsys.readouterr().out
    tau = split['values']['128']['tau']
    assert '2 seeds against 2: ' in out and f'(2 pairs: 128 {tau:.2f}, 256 ' in out
    # the neck's effect within a head width, with its standard error over the 4 seeds
    n128, n256 = (fields['truth_stratified_effects']['choices']['neck']['values'][v] for v in ('128', '256'))
    assert 'within one head value (the choice that orders most of the truth)' in out
    assert (f"neck 128 {n128['truth']:+.4f}±{n128['truth_se']:.4f}, "
            f"256 {n256['truth']:+.4f}±{n256['truth_se']:.4f}") in out
    # a recipe's: its own effects and how it orders the values against the truth's
    gt = GroundTruth.of(seeds)
    rows = {a: dict(mAP_scratch=m['0']) for a, m in seeds.items()}
    reversed_ = {a: dict(mAP=-t) for a, t in gt.truth.items()}
    r = gt.rank_recipe(reversed_, list(seeds), rows, A, subnet_choices(seeds))
    neck = r['stratified_effects']['choices']['neck']
    assert neck['tau_of_effects'] == pytest.approx(-1.0)
    print_summary(dict(s, variants={'rev': dict(r, mAP_inherited={a: m['mAP'] for a, m in reversed_.items()},
                                                 subnets=4)}))
    line = next(x for x in capsys.readouterr().out.splitlines() if x.startswith('    within one head value'))
    assert f"neck 128 {neck['values']['128']['score']:+.4f}, 256 " in line and '(tau -1.00)' in line


def test_variants_that_differ_in_their_seeds_alone_form_a_group():
    r = dict(supernet_of=None, finetune_iters=0)
    distill = {'model.distill': 'outputs', 'model.sampling': 'fair'}
    states = {
        'base': dict(cfg_options={'model.distill': False}, recipe=r),
        'distill': dict(cfg_options=distill, recipe=r),
        'distill_seed1': dict(cfg_options=dict(distill, **{'model.seed': 1, 'randomness.seed': 1}), recipe=r),
        'distill_seed2': dict(cfg_options=dict(distill, **{'model.seed': 2}), recipe=r),
        # the same supernet options, fine-tuned before scoring: another recipe
        'ft50_distill': dict(cfg_options=distill, recipe=dict(r, supernet_of='distill', finetune_iters=50)),
        # another schedule, or scores made elsewhere: not the same recipe either
        'distill_long': dict(cfg_options=dict(distill, **{'model.seed': 1}), recipe=r, supernet_iters=3000),
        'distill_imported': dict(cfg_options=distill, recipe=r, imported_from='elsewhere.json'),
    }
    assert seed_groups(states) == {'distill': ['distill', 'distill_seed1', 'distill_seed2']}
    assert seed_groups({k: states[k] for k in ('base', 'distill', 'ft50_distill')}) == {}


def test_several_supernets_rank_by_their_mean_scores():
    one = {A: dict(mAP=0.30, mAP_se=0.003, val_loss=1.0, val_loss_terms={'loss_cls': 0.4}, seconds=10.0),
           B: dict(mAP=0.32, mAP_se=0.004, val_loss=0.9, val_loss_terms={'loss_cls': 0.3}, seconds=12.0),
           C: dict(mAP=0.40, val_loss=0.8, seconds=11.0)}
    two = {A: dict(mAP=0.36, mAP_se=0.004, val_loss=0.8, val_loss_terms={'loss_cls': 0.2}, seconds=20.0),
           B: dict(mAP=0.30, mAP_se=0.003, val_loss=1.1, seconds=22.0)}  # C not scored yet
    m = mean_scores([one, two])
    assert set(m) == {A, B}  # the subnets both scored
    assert m[A]['mAP'] == pytest.approx(0.33) and m[B]['val_loss'] == pytest.approx(1.0)
    assert m[A]['mAP_se'] == pytest.approx(0.0035)  # the same val images: the mean of the errors
    assert m[A]['val_loss_terms'] == {'loss_cls': pytest.approx(0.3)}
    assert 'val_loss_terms' not in m[B]  # a term one member lacks is left out
    assert m[A]['seconds'] == 30.0  # scored once by each supernet
    # A over B by the first, B over A by the second: on 3 subnets they order C alike
    three = {**two, C: dict(mAP=0.45)}
    agreement = member_agreement({'one': one, 'two': three})
    assert agreement['subnets'] == 3 and set(agreement['pairs']) == {'one-two'}
    assert agreement['mean_kendall_tau'] == pytest.approx(1 / 3)
    assert member_agreement({'one': one, 'two': two}) is None  # 2 common subnets rank nothing


def test_loss_terms_are_pooled_over_the_supernets_trained_on_their_own(capsys):
    """Only supernets trained and scored on their own are pooled (a recipe on another's
    supernet, fine-tuned, few-shot, a mean of seeds or imported scores shares another's
    noise); each term's difference is the mean of theirs."""
    own = dict(supernet_of=None, finetune_iters=0, few_shot=None)
    truth = {a: t for a, t in zip((A, B, C, D), (0.1, 0.2, 0.3, 0.4))}

    def scored(maps, bbox):  # loss_bbox orders the truth exactly, loss_cls backwards, the mAP as given
        return {a: dict(mAP=m, val_loss_terms=dict(loss_bbox=b, loss_cls=1 - b))
                for a, m, b in zip(truth, maps, bbox)}

    exact = (0.4, 0.3, 0.2, 0.1)
    variants = {
        'd0': dict(recipe=own, inherited=scored((0.1, 0.3, 0.2, 0.4), exact)),  # mAP: one pair swapped
        'd1': dict(recipe=own, inherited=scored((0.2, 0.1, 0.3, 0.4), exact)),
        'base': dict(recipe=own, inherited={a: dict(mAP=t) for a, t in truth.items()}),  # no terms
        'ft': dict(recipe=dict(own, supernet_of='d0', finetune_iters=50), inherited=scored(exact, exact)),
        'fs': dict(recipe=dict(own, supernet_of='d0', few_shot='neck'), inherited=scored(exact, exact)),
        'd_x2': dict(ensemble_of=['d0', 'd1'], inherited=scored(exact, exact)),
        'old': dict(inherited=scored(exact, exact)),  # a record that does not say how it scored
        'imp': dict(recipe=own, imported_from='x.json', inherited=scored(exact, exact)),
    }
    assert own_supernets(variants) == ['d0', 'd1', 'base']
    pooled = pooled_loss_terms(variants, truth)
    assert set(pooled) == {'loss_bbox', 'loss_cls'}
    bbox = pooled['loss_bbox']
    assert bbox['supernets'] == ['d0', 'd1'] and bbox['subnets'] == 4
    # each mAP ranking has tau 2/3 (one of 6 pairs swapped); loss_bbox 1
    assert bbox['each'] == pytest.approx([1 / 3, 1 / 3]) and bbox['difference'] == pytest.approx(1 / 3)
    assert pooled['loss_cls']['difference'] == pytest.approx(-5 / 3) and pooled['loss_cls']['beyond_noise']
    assert pooled_loss_terms({k: variants[k] for k in ('d0', 'base', 'ft')}, truth) is None  # one supernet
    print_summary(dict(subnets={}, variants={}, scratch_over_inherited=None, loss_terms_pooled=pooled))
    out = capsys.readouterr().out
    assert 'pooled over the 2 supernets trained on their own (d0, d1; 4 subnets)' in out
    assert '    loss_bbox: tau +0.333 ' in out and 'each +0.333, +0.333' in out
