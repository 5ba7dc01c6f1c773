"""What makes from-scratch detectors learn slowly at CPU scale? One subnet, one lever at a time.

Each *recipe* below changes one thing against ``base`` (the quickstart's data and
schedule, run longer): data difficulty, data quantity, resolution, learning rate,
warm-up, batch size. Every recipe trains the same subnet of the supernet config from
scratch (GroupNorm + WS, as the search's finalists) in its own process, validates half-way
and at the end, and stores the mAP curve with the wall time. A stopped run
resumes: finished recipes are kept in the results file (also a record: on a new machine
it is read back and only missing recipes run).

    python benchmarks/bench_learning_speed.py --json benchmarks/results/learning_speed.json
    python benchmarks/bench_learning_speed.py --recipes base lr04 --json ...   # some recipes
    python benchmarks/bench_learning_speed.py --json ... --summary-only        # the table so far
    python benchmarks/bench_learning_speed.py --quick                          # a pipeline check
"""
import argparse
import copy
import json
import time
from pathlib import Path

from smnas.benchmarks.store import JsonStore
from smnas.data.prepare import prepare_data
from smnas.engine import read_config, rescale_schedule, with_seed
from smnas.modular.export import export_config
from smnas.structural.builder import set_input_size
from smnas.utils import collect_env_versions

# The quickstart's embedded data (configs/_base_/datasets/synthetic_small.py).
BASE_DATA = dict(type='synthetic', num_train=200, num_val=300, image_size=(160, 120), scale=(0.3, 0.7))
# Recipes: data (changes to BASE_DATA), size (input w, h), options (dotted config keys),
# iters. Each changes one lever of ``base``.
RECIPES = {
    'base': dict(),
    'easy_data': dict(data=dict(clutter=0, max_occlusion=0.0, objects=(1, 3)),
                      why='data difficulty: no clutter, no occlusion, 1-3 objects'),
    'class_colour': dict(data=dict(class_colour=True),
                         why='data difficulty: each class in its own colour (shape no longer the only cue)'),
    'more_data': dict(data=dict(num_train=2000), why='data quantity: 2000 training images, not 200'),
    'res320': dict(data=dict(image_size=(320, 240)), size=(320, 240),
                   why='resolution: the same scenes drawn and trained at 320x240'),
    'lr04': dict(options={'optim_wrapper.optimizer.lr': 0.04}, why='learning rate 0.04'),
    'lr08': dict(options={'optim_wrapper.optimizer.lr': 0.08}, why='learning rate 0.08'),
    'warmup10': dict(options={'param_scheduler.0.end': 10}, why='warm-up of 10 iterations, not 30'),
    'batch8': dict(options={'train_dataloader.batch_size': 8, 'optim_wrapper.optimizer.lr': 0.08},
                   iters=150, why='batch 8 (lr scaled linearly), a quarter of the iterations: same images'),
    'adamw': dict(options={'optim_wrapper.optimizer': dict(_delete_=True, type='AdamW', lr=1e-3,
                                                           weight_decay=0.05)},
                  why='AdamW lr 1e-3 instead of SGD'),
}


def recipe_config(supernet_cfg, subnet: str, name: str, recipe: dict, iters: int, work_dir: Path, seed: int):
    """The runnable training config of one recipe (data prepared, subnet exported)."""
    data = dict(BASE_DATA, **recipe.get('data', {}))
    key = '_'.join(f'{k}{v}' for k, v in sorted(recipe.get('data', {}).items())) or 'base'
    root = Path('data') / f'learning_speed_{key}'.replace(' ', '').replace(',', 'x').replace('(', '') \
        .replace(')', '')
    prepare_data(dict(data, out=str(root)))
    cfg = copy.deepcopy(supernet_cfg)
    path = export_config(cfg, subnet, str(work_dir / name))
    from mmengine.config import Config
    cfg = Config.fromfile(path)
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[loader].dataset.data_root = str(root) + '/'
    cfg.val_evaluator.ann_file = str(root / 'annotations/instances_val.json')
    cfg.test_evaluator = cfg.val_evaluator
    cfg.val_dataloader.batch_size = 8
    set_input_size(cfg, recipe.get('size', data['image_size']))
    cfg.load_from = None
    cfg.merge_from_dict(recipe.get('options', {}))
    n = recipe.get('iters', iters)
    rescale_schedule(cfg, n)
    cfg.train_cfg.val_interval = max(n // 2, 1)  # half-way and at the end: val is costly
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', interval=n, max_keep_ckpts=1)
    cfg.default_hooks.logger = dict(type='LoggerHook', interval=max(n // 12, 1))
    with_seed(cfg, seed)
    return cfg


def curve(work_dir: Path, val_interval: int) -> list:
    """(iteration, bbox mAP, mAP@0.5) at every validation of the newest run in work_dir
    (mmengine logs val scalars without the training iteration: counted from the interval)."""
    logs = sorted(work_dir.glob('*/vis_data/scalars.json'))
    out = []
    for line in logs[-1].read_text().splitlines() if logs else []:
        row = json.loads(line)
        if 'coco/bbox_mAP' in row:
            out.append([(len(out) + 1) * val_interval, row['coco/bbox_mAP'], row['coco/bbox_mAP_50']])
    return out


def train(cfg, work_dir: Path) -> dict:
    """Train in a child process (resumes from its checkpoint); the curve and wall time."""
    from smnas.engine.jobs import JobFailed, run_isolated
    import sys

    work_dir.mkdir(parents=True, exist_ok=True)
    path = work_dir / 'train_config.py'
    cfg.dump(str(path))
    t0 = time.time()
    rc, cause = run_isolated([sys.executable, 'tools/train.py', str(path), '--work-dir', str(work_dir),
                              '--resume'], work_dir / 'train.log')
    if rc != 0:
        raise JobFailed(f'{work_dir}: {cause or f"exit code {rc}"} (log: {work_dir / "train.log"})')
    return dict(curve=curve(work_dir, cfg.train_cfg.val_interval), wall_seconds=time.time() - t0)


def print_table(state: dict) -> None:
    print(f'{"recipe":12s} {"iters":>5s} {"batch":>5s} {"minutes":>7s}  mAP half-way, at the end '
          f' (mAP@0.5 at the end)')
    for name, r in state.get('recipes', {}).items():
        pts = ' '.join(f'{m:.3f}' for _, m, _ in r['curve'])
        end = r['curve'][-1][2] if r['curve'] else float('nan')
        print(f'{name:12s} {r["iters"]:5d} {r["batch"]:5d} {r["wall_seconds"] / 60:7.1f}  {pts}  ({end:.3f})'
              f'  {r.get("why", "")}')


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--config', default='configs/supernet/quickstart_synthetic.py',
                   help='supernet config whose space holds the subnet (its model and schedule)')
    p.add_argument('--subnet', default='48_11-21-2-2_n128_h128', help='the subnet trained (default: the '
                   'quickstart finalist E2 of the 2026-12-02 run)')
    p.add_argument('--recipes', nargs='+', default=list(RECIPES), choices=list(RECIPES))
    p.add_argument('--iters', type=int, default=600, help='iterations of every recipe (batch8: a quarter)')
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--work-dir', default='benchmarks/runs/learning_speed')
    p.add_argument('--json', help='the results (and record) file')
    p.add_argument('--summary-only', action='store_true')
    p.add_argument('--quick', action='store_true', help='20 iterations, recipes base and lr04')
    args = p.parse_args()
    if args.quick:
        args.iters, args.recipes, args.work_dir = 20, ['base', 'lr04'], args.work_dir + '_quick'
    wd = Path(args.work_dir)
    store = JsonStore(Path(args.json) if args.json else wd / 'learning_speed.json')
    with store.update() as s:
        s.update(config=args.config, subnet=args.subnet, base_data=BASE_DATA, seed=args.seed,
                 versions=collect_env_versions())
        s.setdefault('recipes', {})
    if not args.summary_only:
        supernet_cfg = read_config(args.config)
        for name in args.recipes:
            recipe = RECIPES[name]
            key = f'{name}' if not args.quick else f'{name}_quick'
            if key in store.read()['recipes']:
                continue
            cfg = recipe_config(supernet_cfg, args.subnet, name, recipe, args.iters, wd, args.seed)
            print(f'[learning-speed] {name}: {cfg.train_cfg.max_iters} iterations', flush=True)
            result = train(cfg, wd / name)
            result.update(iters=cfg.train_cfg.max_iters, batch=cfg.train_dataloader.batch_size,
                          why=recipe.get('why', 'the quickstart recipe, longer'),
                          data=dict(BASE_DATA, **recipe.get('data', {})), options=recipe.get('options', {}))
            with store.update() as s:
                s['recipes'][key] = json.loads(json.dumps(result))
            print_table(store.read())
    print_table(store.read())


if __name__ == '__main__':
    main()
