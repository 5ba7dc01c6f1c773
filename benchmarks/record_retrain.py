"""Record finished ``tools/retrain.py`` trainings in a results file, beside the rank truth's
trainings of the same subnets: for side studies of the truth's protocol (a longer schedule,
another precision) that are single trainings, not a benchmark of their own.

    .venv/bin/python tools/retrain.py work_dirs/long_min --config configs/supernet/rank_synthetic.py \\
        --subnets 48_1-2-2-2_n128_h128 --iters 1500 --no-onnx --cfg-options measure.bootstrap=50
    .venv/bin/python benchmarks/record_retrain.py work_dirs/long_min --name iters1500 \\
        --truth benchmarks/results/rank_fidelity.json --json benchmarks/results/rank_long_schedule.json \\
        --command "the retrain command above"

Each run adds or replaces ``runs[NAME][ARCH]``; other entries of the file stay.
"""
import argparse
import json
from pathlib import Path

from smnas.modular.finalists import load_finalists
from smnas.utils.env import collect_env_versions
from smnas.utils.io import atomic_write_json

def retrain_results(work_dir: Path) -> dict:
    """Every finished retraining of ``work_dir``'s finalist records (``finalists/finalists.json``,
    as ``tools/retrain.py`` writes them).

    Returns:
        ``{arch: {mAP, mAP_se, mAP_50, iters, train_seconds, flops, device}}``.

    Raises:
        SystemExit: no finished training there.
    """
    out = {}
    for f in load_finalists(work_dir) or []:
        if f.retrained:
            out[f.arch] = dict(mAP=f.mAP_retrained, mAP_se=f.mAP_se_retrained, mAP_50=f.mAP_50_retrained,
                               iters=f.retrain_iters, train_seconds=f.train_seconds,
                               flops=round(f.gflops_thop * 1e9), device=f.device)
    if not out:
        raise SystemExit(f'{work_dir}: no finished retraining (finalists/finalists.json with a '
                         f'retrained finalist)')
    return out


def with_truth(results: dict, truth_record: dict) -> dict:
    """``results`` with each subnet's from-scratch seeds in the rank truth (when it has them)
    and the difference of the new training from their mean."""
    subnets = truth_record.get('subnets', {})
    out = {}
    for arch, r in results.items():
        r = dict(r)
        seeds = subnets.get(arch, {}).get('mAP_scratch_seeds')
        if seeds:
            mean = sum(seeds.values()) / len(seeds)
            r.update(truth_mAP_seeds=seeds, truth_mAP_mean=round(mean, 4),
                     truth_iters=truth_record.get('scratch_schedule', {}).get('iters'),
                     minus_truth_mean=round(r['mAP'] - mean, 4))
        out[arch] = r
    return out


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('work_dirs', nargs='+', type=Path, help='tools/retrain.py work dirs')
    p.add_argument('--name', required=True, help='the entry of runs this adds (e.g. iters1500)')
    p.add_argument('--json', required=True, type=Path, help='the results file (kept, entries added)')
    p.add_argument('--truth', type=Path, help='a rank-fidelity record whose seeds to set beside them')
    p.add_argument('--command', action='append', default=[], help='a command that produced them')
    p.add_argument('--note', default='')
    args = p.parse_args(argv)
    results = {}
    for wd in args.work_dirs:
        results.update(retrain_results(wd))
    if args.truth:
        results = with_truth(results, json.loads(args.truth.read_text()))
    record = json.loads(args.json.read_text()) if args.json.is_file() else {}
    entry = record.setdefault('runs', {}).setdefault(args.name, {})
    entry.update(subnets={**entry.get('subnets', {}), **results},
                 commands=sorted(set(entry.get('commands', [])) | set(args.command)),
                 note=args.note or entry.get('note', ''), versions=collect_env_versions())
    atomic_write_json(args.json, record, indent=1)
    for arch, r in results.items():
        extra = (f'; truth {r["truth_mAP_mean"]:.3f} at {r["truth_iters"]} iterations'
                 if 'truth_mAP_mean' in r else '')
        print(f'{args.name} {arch}: mAP {r["mAP"]:.3f} ± {r.get("mAP_se", float("nan")):.3f}{extra}')
    return record


if __name__ == '__main__':
    main()
