"""The rank record's Markdown tables (smnas.benchmarks.rank_tables)."""
import statistics

import pytest

from smnas.benchmarks.rank_tables import (blend_table, front_table, goals_table, ordinal, projected_from,
                                          projection_table, recipe_table, seeds_table, truth_table,
                                          within_table, write_tables)
from smnas.benchmarks.stats import disattenuated_tau, members_subsets, rank_agreement

# Six subnets, seeds 0-1 of each and seed 2 of two only (half-way through it)
ARCHS = ['48_1-2-2-2_n128_h128', '56_1-2-2-2_n128_h128', '64_1-2-2-2_n128_h128',
         '48_1-2-2-2_n256_h256', '56_1-2-2-2_n256_h256', '64_1-2-2-2_n512_h512']
SEEDS = {a: {'0': 0.30 + 0.03 * i, '1': 0.31 + 0.03 * i + (0.004 if i % 2 else -0.004)}
         for i, a in enumerate(ARCHS)}
SEEDS[ARCHS[0]]['2'] = 0.29
SEEDS[ARCHS[1]]['2'] = 0.35
GFLOPS = dict(zip(ARCHS, [1.0, 1.2, 1.5, 2.0, 2.5, 9.0]))


@pytest.fixture(scope='module')
def record() -> dict:
    """A record of two recipes ranked against the mean of seeds 0-1: 'good' scores in the
    truth's order, 'bad' in its reverse, each with a val loss that agrees with its mAP."""
    truth = {a: (m['0'] + m['1']) / 2 for a, m in SEEDS.items()}
    y = [truth[a] for a in ARCHS]
    variants = {}
    for name, sign in (('good', 1), ('bad', -1)):
        inh = {a: dict(mAP=sign * t, val_loss=1 - sign * t) for a, t in truth.items()}
        agree = rank_agreement([inh[a]['mAP'] for a in ARCHS], y)
        by_score = {k: dict(agree, min_subnet=dict(rank_inherited=6 if sign > 0 else 1, rank_scratch=6,
                                                   error=0 if sign > 0 else 5, error_beyond_noise=0))
                    for k in ('mAP', 'val_loss', 'blend')}
        variants[name] = dict(agree, inherited=inh, by_score=by_score,
                              min_subnet=by_score['mAP']['min_subnet'], resolved_pairs=9,
                              resolved_pairs_agreed=9 if sign > 0 else 0,
                              projected_tau=dict(vs_true=sign * 0.9, vs_true_ci95=[0.1, 0.2],
                                                 vs_seeds={'3': sign * 0.8, '4': sign * 0.85}))
    subnets = {a: dict(gflops=GFLOPS[a], mAP_scratch_seeds=SEEDS[a], mAP_scratch_mean=truth[a])
               for a in ARCHS}
    return dict(subnets=subnets, variants=variants, default_variant='good', truth_seeds=['0', '1'],
                ground_truth_seeds=dict(mean_seed_pair_tau=0.5),
                ground_truth_reliability=dict(oracle_tau=0.8),
                baselines={'gflops': dict(kendall_tau=1.0, kendall_tau_ci95=[1.0, 1.0], spearman_rho=1.0)})


def _cells(line: str) -> list:
    return [c.strip() for c in line.strip('|').split('|')]


@pytest.mark.parametrize('n, text', [(1, '1st'), (2, '2nd'), (3, '3rd'), (4, '4th'), (11, '11th'),
                                     (12, '12th'), (13, '13th'), (21, '21st'), (22, '22nd'), (111, '111th')])
def test_ordinal(n, text):
    assert ordinal(n) == text


def test_the_truth_table_has_every_seed_and_the_mean_of_the_whole_ones(record):
    lines = truth_table(record).splitlines()
    head = _cells(lines[0])
    assert head[2:] == ['mAP seed 0', 'mAP seed 1', 'mAP seed 2 (partial)', 'mean (the truth)']
    body = [_cells(line) for line in lines[2:]]
    assert [c[0].split('`')[1] for c in body] == ARCHS  # by GFLOPs
    assert body[0][0].endswith('(min)') and body[-1][0].endswith('(max FLOPs)')
    assert body[0][4] == '0.290' and body[2][4] == ''  # the partial seed, where trained
    assert float(body[3][5]) == pytest.approx((SEEDS[ARCHS[3]]['0'] + SEEDS[ARCHS[3]]['1']) / 2, abs=5e-4)
    assert float(body[0][5]) == pytest.approx(0.303, abs=5e-4)  # seed 2 is not in the mean


def test_the_recipe_table_ranks_and_pairs_every_recipe_with_the_default(record):
    lines = recipe_table(record, references=['bad', 'absent'], resamples=200).splitlines()
    head = _cells(lines[0])
    assert head[-2:] == ['minus good by mAP (paired) (the default)', 'minus bad by mAP (paired)']
    rows = {c[0].strip('*'): c for c in map(_cells, lines[2:])}
    assert set(rows) == {'good, mAP (the default)', 'good, val loss', 'good, blend', 'bad, mAP',
                         'bad, val loss', 'bad, blend', 'by gflops (baseline)'}
    assert rows['good, mAP (the default)'][1].startswith('1.000')
    assert rows['bad, mAP'][1].startswith('-1.000')
    assert rows['good, mAP (the default)'][-2] == ''  # not paired with itself
    # the reverse order is 2 below the truth's on every resample: beyond noise
    assert rows['bad, mAP'][-2] == '**-2.000 [-2.00, -2.00], beyond noise**'
    assert rows['good, val loss'][-1].startswith('**+2.000')
    assert rows['good, mAP (the default)'][3:6] == ['6th (0 off, 0)', '9', '2.00 / 1.25']
    assert rows['bad, val loss'][3:5] == ['1st (5 off, 0)', '']  # resolved pairs: by mAP only


def test_the_projection_table_corrects_every_recipe_for_the_truths_noise(record):
    lines = projection_table(record).splitlines()
    assert _cells(lines[0])[1] == 'tau against this 2-seed truth'
    rows = {c[0]: c for c in map(_cells, lines[2:])}
    assert set(rows) == {'good (the default)', 'bad'}
    assert rows['good (the default)'][1:] == ['1.000', '0.90 [0.10, 0.20]', '0.80', '0.85']
    assert _cells(lines[0])[3:] == ['against a truth of 3 seeds', 'against a truth of 4 seeds']


def test_the_front_table_sets_each_recipes_finalists_beside_cost_alone_and_chance(record):
    from smnas.benchmarks.rank_report import GroundTruth

    rankings = {n: {a: s['mAP'] for a, s in v['inherited'].items()} for n, v in record['variants'].items()}
    front = GroundTruth.of(SEEDS).front_recovery(rankings, GFLOPS, 'good')
    assert front_table(record) == ''  # a record from before the front was measured
    lines = front_table(dict(record, front_recovery=front)).splitlines()
    rows = [_cells(line) for line in lines[2:]]
    # the truth rises with the FLOPs: every subnet is on the true front, and 'good' (the truth's
    # order) and cost alone keep all six; 'bad' (its reverse) only the cheapest
    assert rows[0] == ['**good (the default)**', '1.000 [1.00, 1.00]', '6 of 6', '']
    assert rows[1] == ['bad', '0.000 [0.00, 0.00]', '1 of 1', '**-1.000 [-1.00, -1.00], beyond noise**']
    assert rows[2] == ['by GFLOPs alone (baseline)', '1.000 [1.00, 1.00]', '6 of 6', '+0.000 [+0.00, +0.00]']
    assert rows[3][0] == 'random rankings (mean)' and rows[4][0].startswith('one seed judged by')
    assert _cells(lines[0])[1] == "6 finalists' share of the true front's hypervolume [95% CI]"


def test_the_within_table_sets_each_recipes_effects_within_the_head_beside_the_truths(record):
    from smnas.benchmarks.rank_report import subnet_choices
    from smnas.benchmarks.stats import stratified_effects

    assert within_table(record) == ''  # a record from before the effects were measured
    choices = subnet_choices(ARCHS)
    seeds = {a: {k: m[k] for k in ('0', '1')} for a, m in SEEDS.items()}
    rec = dict(record, truth_stratified_effects=stratified_effects(choices, seeds, ['0', '1'], 'head'),
               variants={n: dict(v, stratified_effects=stratified_effects(
                   choices, seeds, ['0', '1'], 'head', {a: s['mAP'] for a, s in v['inherited'].items()}))
                   for n, v in record['variants'].items()})
    lines = within_table(rec).splitlines()
    assert _cells(lines[0]) == ["choice, value (mean minus its head's)", 'truth (2 seeds, ±SE)',
                                '**good**', 'bad']
    rows = {r[0]: r[1:] for r in map(_cells, lines[2:])}
    # within the 128 head the base rises by 0.03 a step (48, 56, 64: -0.03, 0, +0.03 there),
    # 'good' scores as the truth, 'bad' its reverse; the 48 base also has the 256 head's lower subnet
    base48 = rec['truth_stratified_effects']['choices']['base']['values']['48']
    assert rows['base 48 (2 subnets)'] == [f'{base48["truth"]:+.4f} ± {base48["truth_se"]:.4f}',
                                           f'{base48["truth"]:+.4f}', f'{-base48["truth"]:+.4f}']
    assert rows["base: values ordered as the truth's (tau)"] == ['', '1.00', '-1.00']
    assert "neck: values ordered as the truth's (tau)" in rows
    # a recipe whose effects were stratified by another choice is left out
    rec['variants']['bad']['stratified_effects']['given'] = 'neck'
    assert _cells(within_table(rec).splitlines()[0])[2:] == ['**good**']


def test_a_ranking_by_several_seeds_says_so_in_every_table(record):
    from smnas.benchmarks.rank_report import GroundTruth

    x2 = dict(record['variants']['good'], ensemble_of=['good', 'good_seed1'])
    rec = dict(record, variants=dict(record['variants'], good_x2=x2))
    rankings = {n: {a: s['mAP'] for a, s in v['inherited'].items()} for n, v in rec['variants'].items()}
    rec['front_recovery'] = GroundTruth.of(SEEDS).front_recovery(rankings, GFLOPS, 'good')
    name = 'good_x2 (mean of 2 seeds)'
    assert f'| {name}, mAP |' in recipe_table(rec, resamples=50)
    assert f'| {name} |' in projection_table(rec) and f'| {name} |' in front_table(rec)
    # its second seed scored 4 of the 6 subnets so far: the rows say so
    rec['variants']['good_x2'] = dict(x2, subnets=4)
    assert '| good_x2 (mean of 2 seeds, 4 of 6 subnets), mAP |' in recipe_table(rec, resamples=50)
    assert '| good (the default) |' in projection_table(rec)  # a whole one: its name alone


def test_the_goals_table_says_which_goal_each_seed_and_their_mean_meet(record):
    rows = lambda rec: [_cells(line) for line in goals_table(rec).splitlines()[2:]]  # noqa: E731
    # one supernet of the default, in the truth's order; no truth of two halves yet
    truth, default, min_subnet = rows(dict(record, truth_seed_tau=0.6))
    assert truth[1:] == ['one training against another 0.600', 'no']
    assert default[0] == 'the default recipe (`good`) tau >= 0.8, lower bound >= 0.6'
    assert default[1].startswith('its 1 supernet (seed 0): **1.000') and default[2] == 'yes'
    assert min_subnet[1:] == ['seed 0: 0 places (0 beyond its from-scratch noise band)', 'yes']
    assert rows(dict(record))[0][1:] == ['not measured: fewer than two whole seeds', 'no']
    # two truths that agree, and a second seed that ranks in reverse, its min subnet 5 places off
    bad = dict(record['variants']['bad'], cfg_options={'model.seed': 1})
    x2 = dict(record['variants']['bad'], ensemble_of=['good', 'good_seed1'], mean_over='seeds',
              kendall_tau=0.7, kendall_tau_ci95=[0.5, 0.9], min_subnet=dict(error=2))
    rec = dict(record, truth_seed_tau=0.6, truth_split_tau=0.81, truth_split_sizes=[1, 1],
               variants=dict(record['variants'], good_seed1=bad, good_x2=x2))
    truth, default, min_subnet = rows(rec)
    assert truth[1:] == ['two truths of 1 seeds each, no seed shared: 0.810 (mean over the splits); '
                         'one training against another 0.60', 'yes']
    assert default[1].startswith('its 2 supernets (seeds 0, 1): **1.000')
    assert ', -1.000 [' in default[1] and '; one supernet 0.000 +- 1.414' in default[1]
    assert default[1].endswith('the mean score of the 2 (`good_x2`) 0.700 [0.50, 0.90]')
    assert default[2] == 'by 1 seed of 2; their mean: no'  # 0.7: below 0.8
    assert min_subnet[1:] == ['seeds 0, 1: 0, 5 places (0 beyond its from-scratch noise band); their mean: 2',
                              'by 1 seed of 2; their mean: yes']
    # a default score other than the mAP: every cell is that score's ranking (by_score)
    by_blend = dict(kendall_tau=0.85, kendall_tau_ci95=[0.7, 0.95], min_subnet=dict(error=1))
    blended = {n: dict(v, by_score=dict(v['by_score'], box_blend=by_blend))
               for n, v in rec['variants'].items()}
    _, default, min_subnet = rows(dict(rec, variants=blended, default=dict(score='box_blend')))
    assert default[0] == ('the default recipe (`good`) ranked by mAP + box loss tau >= 0.8, '
                          'lower bound >= 0.6')
    assert default[1].startswith('its 2 supernets (seeds 0, 1): **0.850 [0.70, 0.95]**, **0.850')
    assert default[2] == 'yes; their mean: yes'
    assert min_subnet[1].startswith('seeds 0, 1: 1, 1 places')


def test_the_blend_table_pairs_the_blend_with_the_map_on_every_supernet_that_has_the_box_loss(record):
    """'good' ranks in the truth's order by mAP, its box loss says little (all but one alike);
    'bad' tells apart one subnet by mAP, the wrong way (the truth's best last), and its box
    loss orders all as the truth: the blend lifts 'bad' and leaves 'good' in order. A
    supernet without the box loss, and a mean over supernets, get no row of their own."""
    truth = {a: (m['0'] + m['1']) / 2 for a, m in SEEDS.items()}
    variants = {}
    for name, v in record['variants'].items():
        bad = name == 'bad'
        box = {a: 1.0 - 10 * truth[a] if bad else 1.0 + 0.01 * (a == ARCHS[0]) for a in ARCHS}
        inh = {a: dict(s, mAP=0.3 - 0.1 * (a == ARCHS[-1]) if bad else s['mAP'],
                       val_loss_terms=dict(loss_bbox=box[a])) for a, s in v['inherited'].items()}
        variants[name] = dict(v, inherited=inh)
    variants['none'] = record['variants']['good']  # no loss terms
    variants['good_x2'] = dict(variants['good'], ensemble_of=['good', 'bad'], mean_over='seeds')
    table = blend_table(dict(record, variants=variants), resamples=200)
    rows = {c[0]: c for c in map(_cells, table.splitlines()[2:])}
    # the mean's members are the default's seeds: pooled over them too (here the same two)
    assert set(rows) == {'good', 'bad', 'pooled over the 2 supernets', "pooled over the default's seeds"}
    assert rows["pooled over the default's seeds"][3] == rows['pooled over the 2 supernets'][3]
    assert rows['good'][1:3] == ['1.000', '1.000'] and rows['good'][5] == '1.000'
    assert float(rows['bad'][1]) < 0 and float(rows['bad'][2]) > float(rows['bad'][1]) + 0.8
    assert rows['bad'][3].startswith('**+1.044 [')  # the paired difference: beyond noise, in bold
    assert rows['pooled over the 2 supernets'][3].lstrip('*').startswith('+0.52')


def test_the_seeds_table_measures_every_mean_of_k_of_the_defaults_supernets(record):
    """One row per K: every mean of K of the default's seeds, ranked; how many meet the goal;
    the projection beside them; and K times one supernet's training and scoring time."""
    assert seeds_table(record) == ''  # the default has no mean of seeds
    truth = {a: r['mAP_scratch_mean'] for a, r in record['subnets'].items()}
    # three seeds of the default: one in the truth's order, one with two neighbours swapped, one reversed
    scores = {'good': dict(truth), 'good_seed1': dict(truth),
              'good_seed2': {a: -2 * t for a, t in truth.items()}}
    scores['good_seed1'][ARCHS[0]], scores['good_seed1'][ARCHS[1]] = truth[ARCHS[1]], truth[ARCHS[0]]
    members = {n: dict(supernet_seconds=3600.0 * (i + 1), inherited={a: dict(mAP=m, seconds=10.0 * (i + 1))
                                                                     for a, m in scores[n].items()})
               for i, n in enumerate(scores)}
    # keyed by strings, as the record's JSON keeps them
    subsets = {str(k): v for k, v in members_subsets(scores, truth, resamples=200).items()}
    x3 = dict(ensemble_of=list(scores), mean_over='seeds', members_subsets=subsets,
              members_projection=dict(projected={'1': 0.1, '2': 0.2, '5': 0.5}))
    rec = dict(record, variants=dict(record['variants'], **members, good_x3=x3))
    rows = [_cells(line) for line in seeds_table(rec).splitlines()[2:]]
    assert [r[:2] for r in rows] == [['1', '3'], ['2', '3'], ['3', '1']]
    ones = sorted(s['kendall_tau'] for s in subsets['1'])
    assert ones[0] == pytest.approx(-1.0) and ones[2] == pytest.approx(1.0) and 0.6 < ones[1] < 1.0
    assert rows[0][2] == f'{sum(ones) / 3:.3f} ± {statistics.stdev(ones):.3f}'
    assert rows[0][3] == f'{ones[0]:.3f}, {ones[2]:.3f}'
    assert rows[0][4].endswith(' of 3') and rows[2][4] in ('0 of 1', '1 of 1')
    # a mean with the reversed seed (twice as spread as the others) ranks in reverse
    assert all(s['kendall_tau'] < 0.8 for s in subsets['2'] if 'good_seed2' in s['members'])
    assert [r[5] for r in rows] == ['0.100', '0.200', '']  # no projection to 3 stored
    # K times the members' mean: supernets of 1, 2 and 3 hours; scoring 10, 20 and 30 s a subnet
    assert [r[6:] for r in rows] == [['2.0', '20'], ['4.0', '40'], ['6.0', '60']]
    # a mean that ties on every subnet (nan) is counted, not meeting the goal, and left out of the spread
    tied = dict(subsets, **{'2': subsets['2'] + [dict(members=['x', 'y'], kendall_tau=float('nan'),
                                                      kendall_tau_ci95=None)]})
    rec = dict(rec, variants=dict(rec['variants'], good_x3=dict(x3, members_subsets=tied)))
    pair = [_cells(line) for line in seeds_table(rec).splitlines()[2:]][1]
    assert pair[1] == '4' and pair[2:4] == rows[1][2:4] and pair[4] == rows[1][4].replace(' of 3', ' of 4')


def test_the_projection_of_an_earlier_truth_is_set_beside_the_measured_tau(record):
    # the record of a 1-seed truth, where 'good' measured 0.6 and 'bad' is not ranked yet
    rel = dict(true_std=0.02, noise_std=0.02)  # one seed's reliability 1/2, two seeds' 2/3
    previous = dict(truth_seeds=['0'], ground_truth_reliability=rel,
                    variants={'good': dict(kendall_tau=0.6), 'bad': dict(mAP_inherited={})})
    then = projected_from(previous, 'good', 2)
    assert then == pytest.approx(disattenuated_tau(0.6, 0.5, 2 / 3)) and 0.6 < then < 1
    assert projected_from(previous, 'bad', 2) is None and projected_from(previous, 'none', 2) is None
    lines = projection_table(record, previous).splitlines()
    assert _cells(lines[0])[-2:] == ['against 2 seeds, projected from the 1-seed truth',
                                     'measured (the first column) minus projected']
    rows = {c[0]: c for c in map(_cells, lines[2:])}
    assert rows['good (the default)'][-2:] == [f'{then:.2f}', f'{1.0 - then:+.2f}']
    assert rows['bad'][-2:] == ['', '']  # nothing to check it by
    # an earlier record of as many seeds (or more) projects nothing: refused
    with pytest.raises(ValueError, match='truth of 2 seeds'):
        projection_table(record, dict(previous, truth_seeds=['0', '1']))


def test_tables_are_written_between_their_markers_and_the_rest_is_kept(record):
    text = ('# Title\n\nprose before\n\n<!-- rank_tables:truth -->\n| old | table |\n'
            '<!-- /rank_tables:truth -->\n\n- a list item:\n\n  <!-- rank_tables:projected -->\n  stale\n'
            '  <!-- /rank_tables:projected -->\n\nprose after\n')
    asked = []

    def table(name):
        asked.append(name)
        return {'truth': truth_table, 'projected': projection_table}[name](record)

    out = write_tables(text, table)
    assert asked == ['truth', 'projected']
    assert out.startswith('# Title\n\nprose before\n\n<!-- rank_tables:truth -->\n\n| subnet | GFLOPs |')
    assert '| old | table |' not in out and 'stale' not in out and out.endswith('\n\nprose after\n')
    block = out.split('<!-- rank_tables:projected -->')[1].split('<!-- /rank_tables:projected -->')[0]
    assert block.strip().splitlines() == [
        '  ' + line if i else line for i, line in enumerate(projection_table(record).splitlines())]
    assert write_tables(out, table) == out  # written again: the same text
    with pytest.raises(ValueError, match='line 1: .*names no table'):
        write_tables('<!-- rank_tables:nothing -->\n<!-- /rank_tables:nothing -->\n', table)
    with pytest.raises(ValueError, match='line 3: .*no closing <!-- /rank_tables:truth -->'):
        write_tables('a\n\n<!-- rank_tables:truth -->\n| t |\n', table)


def test_the_script_writes_the_readmes_tables_atomically(record, tmp_path):
    import json
    import subprocess
    import sys

    from smnas.testing import REPO_ROOT

    path = tmp_path / 'record.json'
    path.write_text(json.dumps(record))
    readme = tmp_path / 'README.md'
    readme.write_text('x\n\n<!-- rank_tables:recipes -->\nold\n<!-- /rank_tables:recipes -->\n')

    def run(*args):
        return subprocess.run([sys.executable, 'benchmarks/rank_tables.py', str(path), *args], cwd=REPO_ROOT,
                              capture_output=True, text=True, timeout=300)

    assert run('--write', str(readme), '--reference', 'bad').returncode == 0
    assert readme.read_text() == write_tables(readme.read_text(), lambda n: recipe_table(record, ['bad']))
    assert 'minus bad by mAP' in readme.read_text() and 'old' not in readme.read_text()
    before = readme.read_text()
    readme.write_text(before + '<!-- rank_tables:truth -->\n')  # no closing marker: refused, file kept
    failed = run('--write', str(readme))
    assert failed.returncode != 0 and 'no closing' in failed.stderr
    assert readme.read_text() == before + '<!-- rank_tables:truth -->\n'
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith('.')] == []  # no temporary left



def _readme_shows(record: dict, text: str) -> None:
    # the README's tables (between their markers) against those printed from the record
    import re

    found = re.findall(r'<!-- rank_tables:(\w+) -->\n(.*?)\n[ \t]*<!-- /rank_tables:\1 -->', text, re.S)
    shown = {name: [_cells(line.strip()) for line in block.strip().splitlines()] for name, block in found}
    assert set(shown) == {'goals', 'truth', 'recipes', 'projected', 'front', 'within', 'blend', 'seeds'}
    refs = [m for c in shown['recipes'][0] for m in re.findall(r'^minus (\w+) by mAP', c)]
    printed = {'goals': goals_table(record), 'truth': truth_table(record),
               'recipes': recipe_table(record, refs[1:]), 'projected': projection_table(record),
               'front': front_table(record),
               'within': within_table(record), 'blend': blend_table(record), 'seeds': seeds_table(record)}
    hint = 'rerun: .venv/bin/python benchmarks/rank_tables.py --reference ... --write benchmarks/README.md'
    for name, table in printed.items():
        rows = [_cells(line) for line in table.splitlines()]
        assert len(rows) == len(shown[name]), (name, hint)
        for mine, theirs in zip(rows, shown[name]):
            assert theirs[:len(mine)] == mine, (name, mine[0], hint)


def test_the_readmes_tables_are_the_committed_records():
    """benchmarks/README.md shows what the committed record says: its tables, between their
    markers, are those ``benchmarks/rank_tables.py --write`` prints from the record (the
    recipes paired with the references the README's header names; the projection table's
    last columns, from an earlier record that git keeps, left out of the comparison). The
    project's README shows the goals table, as printed."""
    import json

    from smnas.testing import REPO_ROOT

    record = json.loads((REPO_ROOT / 'benchmarks/results/rank_fidelity.json').read_text())
    _readme_shows(record, (REPO_ROOT / 'benchmarks/README.md').read_text())
    readme = (REPO_ROOT / 'README.md').read_text()
    assert write_tables(readme, lambda name: goals_table(record)) == readme, \
        'rerun: .venv/bin/python benchmarks/rank_tables.py --write README.md'
    assert '<!-- rank_tables:goals -->' in readme
