"""Records of the rank-fidelity benchmark: its work dir's state, and the results file
that rebuilds it on a machine without the work dir.

A work dir holds one state file for the ground truth (``truth.json``: the picked
subnets, their from-scratch results by seed, the noise run, the search's cost),
written by the ``base`` variant, and one per supernet recipe
(``variant_<name>.json``: its options, supernet time and inherited scores), written
only by the run of that variant.
"""
import json
from pathlib import Path
from typing import Dict, Tuple

TRUTH = 'truth.json'
VARIANT = 'variant_{}.json'


def variant_names(work_dir) -> list:
    """The variants with a state file in ``work_dir``, ``base`` first."""
    names = sorted(p.name[len('variant_'):-len('.json')] for p in Path(work_dir).glob(VARIANT.format('*')))
    return sorted(names, key=lambda n: n != 'base')


def logged_step_times(work_dir) -> Dict[int, float]:
    """``{logged iteration: mean step seconds over its logging window}`` of an mmengine run,
    resumes included (the latest run's value for an iteration logged twice); validation and
    checkpointing excluded."""
    steps = {}
    for scalars in sorted(Path(work_dir).glob('*/vis_data/scalars.json')):  # oldest run first
        for line in scalars.read_text().splitlines():
            rec = json.loads(line)
            if 'lr' in rec and 'time' in rec:  # training lines only
                steps[int(rec['step'])] = float(rec['time'])
    return steps


def logged_train_seconds(work_dir) -> float:
    """Training time of an mmengine run from its logged step times, resumes included:
    for every logged iteration the latest run's mean step time over the logging window
    (validation and checkpointing excluded)."""
    steps = logged_step_times(work_dir)
    total, prev = 0.0, 0
    for step in sorted(steps):
        total += steps[step] * (step - prev)
        prev = step
    return total


def subnet_seeds(arch: str, row: dict, noise: dict) -> Dict[str, float]:
    """Every from-scratch mAP of one subnet by seed: seed 0, the seeds run's and, for the
    noise run's subnet, the noise run's (trained the same way).

    Args:
        arch: the subnet.
        row: its truth state (``mAP_scratch``, optional ``mAP_scratch_seeds``).
        noise: the truth's ``noise`` (``arch``, ``mAP`` by seed), or empty.

    Returns:
        ``{seed: mAP}``, a new dict.
    """
    seeds = dict(row.get('mAP_scratch_seeds') or {'0': row['mAP_scratch']})
    if noise.get('arch') == arch:
        for k, m in noise['mAP'].items():
            seeds.setdefault(k, m)
    return seeds


def state_from_record(rec: dict) -> Tuple[dict, Dict[str, dict]]:
    """The work dir's states rebuilt from a results file (what the benchmark's summary
    wrote).

    Returns:
        (the truth state, ``{variant: its state}``).
    """
    keep = ('gflops', 'mAP_scratch', 'mAP_50_scratch', 'params_m', 'scratch_seconds', 'train_seconds',
            'gflops_thop', 'mAP_scratch_seeds', 'mAP_se_scratch', 'error')
    subnets = {a: {k: r[k] for k in keep if k in r} for a, r in rec['subnets'].items()}
    variants = {}
    # those with no ranking yet too: a record keeps their supernet's time and any first scores
    for name, v in {**rec.get('variants_under_way', {}), **rec['variants']}.items():
        if v.get('ensemble_of'):  # a ranking by its members' scores, made again by the summary
            continue
        # whole scores where the record has them (val loss, noise, time), else the mAPs
        inherited = {a: dict(m) for a, m in v['inherited'].items()} if v.get('inherited') \
            else {a: dict(mAP=m) for a, m in v['mAP_inherited'].items()}
        if name == 'base' and not v.get('inherited'):  # an older record: its table keeps the base's timings
            for a, r in rec['subnets'].items():
                if 'inherited_seconds' in r:
                    inherited[a] = dict(mAP=r['mAP_inherited'], mAP_50=r.get('mAP_50_inherited'),
                                        seconds=r['inherited_seconds'])
        variants[name] = dict(cfg_options=v.get('cfg_options') or {}, supernet_iters=v.get('supernet_iters'),
                              supernet_seconds=v.get('supernet_seconds'),
                              supernet_wall_seconds=v.get('supernet_wall_seconds'), inherited=inherited)
        if v.get('recipe'):  # scored with another's supernet, fine-tuned, few-shot...
            variants[name]['recipe'] = v['recipe']
        if v.get('imported_from'):  # scored elsewhere, ranked against this record's truth
            variants[name]['imported_from'] = v['imported_from']
    truth = dict(space=rec['space'], scratch=rec.get('scratch_schedule'), subnets=subnets)
    if rec.get('means_of'):  # the means over several recipes' supernets it ranks by
        truth['means'] = [list(m) for m in rec['means_of']]
    noise = rec.get('ground_truth_noise')
    if noise:
        truth['noise'] = dict(arch=noise['arch'], mAP=dict(noise['mAP_by_seed']))
    stage = rec.get('modular_stage')
    if stage:
        n = stage['searched_subnets']
        truth['search_seconds'] = stage['search_seconds']
        truth['search'] = dict(subnets=n, target=n, gflops_sum=stage['searched_gflops_sum'],
                               eval_seconds=stage['search_eval_seconds'], finalists=stage.get('finalists'))
    return truth, variants
