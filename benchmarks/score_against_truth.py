"""Score the subnets of a rank record with one trained supernet's inherited weights, by mAP
and by val loss, and rank them against the record's from-scratch truth: a check of the
ranking scores on another supernet or dataset than the rank benchmark's own, in minutes
instead of the hours of a new truth.

    .venv/bin/python benchmarks/score_against_truth.py configs/supernet/bccd.py \\
        benchmarks/runs/modular_cost_bccd_bf16/supernet/iter_600.pth \\
        --truth benchmarks/results_rank_bccd.json --json benchmarks/results/rank_scores_bccd.json

Every scored subnet is written to ``--json`` at once (atomically), and a rerun scores only
the subnets not there yet, so a stopped run resumes. The truth of a subnet is the mean of
its from-scratch mAPs over the record's truth seeds.
"""
import argparse
import json
import sys
import time
from pathlib import Path
from typing import Dict

from mmengine.config import DictAction

from smnas.benchmarks.stats import score_agreement
from smnas.utils import atomic_write_json, collect_env_versions


def truth_means(record: dict) -> Dict[str, float]:
    """Each subnet's from-scratch mAP in a rank record (``bench_rank_fidelity.py --json``):
    the mean over the record's ``truth_seeds`` (all of a subnet's seeds when it names none).

    Raises:
        SystemExit: a record without from-scratch seeds.
    """
    seeds = record.get('truth_seeds')
    out = {}
    for arch, s in record.get('subnets', {}).items():
        by_seed = s.get('mAP_scratch_seeds') or {}
        values = [by_seed[k] for k in (seeds or by_seed) if k in by_seed]
        if values:
            out[arch] = sum(values) / len(values)
    if len(out) < 2:
        raise SystemExit('the truth record has fewer than two subnets with from-scratch mAPs '
                         '(subnets.<arch>.mAP_scratch_seeds)')
    return out


def summarise(record: dict, min_subnet: str) -> dict:
    """``record`` with the agreement of each score with the truth, the min subnet's rank
    error by each included (``by_score``)."""
    subnets = record['subnets']
    archs = sorted(subnets)
    record['by_score'] = score_agreement(subnets, archs, [subnets[a]['truth_mAP'] for a in archs], min_subnet)
    return record


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('config', help='the supernet config the checkpoint was trained with')
    p.add_argument('checkpoint', help='the trained supernet')
    p.add_argument('--truth', required=True, type=Path, help='a rank record with from-scratch seeds')
    p.add_argument('--json', required=True, type=Path, help='the results (resumed when present)')
    p.add_argument('--work-dir', default='work_dirs/score_against_truth', help='the evaluator logs')
    p.add_argument('--seed', type=int, default=0, help="seed of the val loss's samplers")
    p.add_argument('--bootstrap', type=int, default=50,
                   help="resamples of the val images for each inherited mAP's standard error")
    p.add_argument('--cfg-options', nargs='+', action=DictAction, help='override config keys')
    args = p.parse_args(argv)

    from smnas.data.prepare import prepare_data
    from smnas.engine import read_config
    from smnas.evaluation.inherited import InheritedEvaluator

    truth = truth_means(json.loads(args.truth.read_text()))
    cfg = read_config(args.config, args.cfg_options)
    prepare_data(cfg.get('prepare_data'))
    record = json.loads(args.json.read_text()) if args.json.is_file() else {}
    if record and record.get('checkpoint') != str(Path(args.checkpoint).resolve()):
        raise SystemExit(f'{args.json} holds the scores of {record.get("checkpoint")}, not of '
                         f'{args.checkpoint}: use another --json')
    record.update(config=args.config, checkpoint=str(Path(args.checkpoint).resolve()),
                  truth=str(args.truth), seed=args.seed, cfg_options=args.cfg_options or {},
                  command=' '.join(['python'] + sys.argv), versions=collect_env_versions())
    subnets = record.setdefault('subnets', {})
    evaluator = InheritedEvaluator(cfg, args.checkpoint, args.work_dir, bootstrap=args.bootstrap)
    record['val_images'] = evaluator.num_images
    for i, arch in enumerate(sorted(truth)):
        if arch in subnets:
            continue
        t0 = time.time()
        m = evaluator.evaluate(arch, loss_seed=args.seed)  # both scores in one pass
        loss = m['val_loss']
        subnets[arch] = dict(mAP=m['mAP'], mAP_se=m.get('mAP_se'), mAP_50=m['mAP_50'], val_loss=loss,
                             val_loss_terms=m.get('val_loss_terms'), truth_mAP=truth[arch],
                             seconds=time.time() - t0)
        atomic_write_json(args.json, record, indent=1)
        se = f' ± {m["mAP_se"]:.4f}' if m.get('mAP_se') is not None else ''
        print(f'[{i + 1}/{len(truth)}] {arch}: mAP {m["mAP"]:.4f}{se}, val loss {loss:.4f} '
              f'(truth {truth[arch]:.4f}; {time.time() - t0:.0f} s)', flush=True)
    record = summarise(record, str(evaluator.space.min_subnet()))
    atomic_write_json(args.json, record, indent=1)
    for name, r in record['by_score'].items():
        lo, hi = r['kendall_tau_ci95'] or (float('nan'), float('nan'))
        d = r.get('tau_minus_mAP')
        vs = ''
        if d is not None:
            ci = d['difference_ci95'] or (float('nan'), float('nan'))
            vs = (f'; minus by mAP {d["difference"]:+.3f} [{ci[0]:+.3f}, {ci[1]:+.3f}], '
                  f'{"beyond" if d["beyond_noise"] else "within"} noise')
        print(f'by {name}: Kendall tau {r["kendall_tau"]:.3f} [{lo:.2f}, {hi:.2f}], '
              f'Spearman {r["spearman_rho"]:.3f}{vs}')
        e = r.get('min_subnet')
        if e:
            print(f'  min subnet by {name}: {e["rank_inherited"]} of {e["of"]}, from scratch '
                  f'{e["rank_scratch"]} ({e["error"]} places)')
    return record


if __name__ == '__main__':
    main()
