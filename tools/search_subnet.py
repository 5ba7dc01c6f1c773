"""SM-NAS modular stage: search the subnets of a trained supernet, pick finalists E0-E5.

    python tools/search_subnet.py configs/supernet/quickstart_synthetic.py \
        --checkpoint work_dirs/quickstart_synthetic/iter_400.pth
    python tools/search_subnet.py CONFIG --checkpoint SN --flops-range 2 6   # GFLOPs
    # more processes or machines: the same command, same --work-dir / --storage
    python tools/search_subnet.py CONFIG --checkpoint SN --report-only
    # few-shot: one checkpoint per part (tools/train_supernet.py, model.part)
    python tools/search_subnet.py CONFIG --checkpoint SN_N128 SN_N256 SN_N512
    # an ensemble: --checkpoint once per supernet (e.g. one recipe, several seeds); each
    # subnet scored by its mean score over them
    python tools/search_subnet.py CONFIG --checkpoint SN_SEED0 --checkpoint SN_SEED1

Subnets are scored with inherited weights, by val bbox mAP or (``--cfg-options
subnet_search.score=val_loss``) by the detector's loss on the val images, against FLOPs
of the whole detector (per-layer table, never profiled one by one); rerunning resumes
the search.
Outputs in the work dir: report.md, search.png, trials.csv, finalists/E*/ (plain
mmdet configs + inherited weights), tensorboard/. Retrain the finalists with
tools/retrain.py.
"""
import argparse

from mmengine.config import DictAction

from smnas.data.prepare import prepare_data
from smnas.engine import default_work_dir, read_config
from smnas.modular import export_finalists, load_finalists
from smnas.modular.structure import with_structure_space
from smnas.reports.subnet import write_subnet_report
from smnas.search.subnet import SubnetSearch


def parse_args():
    p = argparse.ArgumentParser(description='SM-NAS subnet search over a trained supernet')
    p.add_argument('config', help='the supernet config')
    p.add_argument('--checkpoint', required=True, nargs='+', action='append',
                   help="the trained supernet's checkpoint, or a few-shot supernet's: every part's "
                        '(each subnet is scored with the weights of its part); given again, another '
                        'supernet of an ensemble (each subnet scored by its mean score over them)')
    p.add_argument('--work-dir', help='default: work_dirs/<config name>_search')
    p.add_argument('--storage', help='Optuna storage URL (default: sqlite in the work dir)')
    p.add_argument('--flops-range', nargs=2, type=float, metavar=('LO', 'HI'),
                   help='GFLOPs of the whole detector; subnets outside are never evaluated')
    p.add_argument('--finalists', type=int, default=6, help='finalists exported (default 6)')
    p.add_argument('--report-only', action='store_true', help='write the report of the study as it is')
    p.add_argument('--cfg-options', nargs='+', action=DictAction,
                   help='override config keys, e.g. subnet_search.n_trials=100')
    return p.parse_args()


def main():
    args = parse_args()
    cfg = with_structure_space(read_config(args.config, args.cfg_options))
    work_dir = args.work_dir or default_work_dir(args.config, '_search')
    prepare_data(cfg.get('prepare_data'))
    search = SubnetSearch(cfg, args.checkpoint, work_dir, args.storage, args.flops_range)
    study = search.open() if args.report_only else search.run()
    finalists = load_finalists(work_dir)
    if not args.report_only and finalists is None:
        finalists = export_finalists(search, study, args.finalists)
    out = write_subnet_report(search, study, finalists)
    print(f'[subnet] report: {out["report"]}')


if __name__ == '__main__':
    main()
