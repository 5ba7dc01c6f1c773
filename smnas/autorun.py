"""From a folder of labelled images to finalists E0-E5 in one command:
``smnas run --data DIR [--work-dir W] [--budget-hours H] [--device cpu|cuda]``.

1. The data: a COCO-JSON layout (``annotations/instances_{train,val}.json`` and
   ``images/``) is used as it is; a VOC or YOLO folder is converted with the project's
   converter (``smnas-convert-dataset``: format detected, splits as it makes them) into
   ``W/data``. Classes and boxes are counted, and bad data stops the run before any
   training: no labels, a class without a training box, no validation images.
2. The input size: the largest structural input (1333x800) is scaled to the median
   training image (never up), so that every structural size keeps its aspect and its
   share of the image's detail.
3. The budget (:func:`plan`): the quickstart's settings take about 35 minutes on 2 CPU
   cores at 192x128 (README); a budget of H hours scales them, the supernet, the search
   and the finalists' schedules in proportion to H and inversely to the input's pixels, the
   structural candidates' count and schedule with its square root. A budget smaller
   than a quarter of the quickstart's cost at this input size is refused.
4. Every config (``data.json``, ``structural.py``, ``supernet.py``, ``pipeline.py``) is
   written to W; ``smnas run W/pipeline.py`` reproduces and resumes the run.
"""
import contextlib
import io
import json
import math
import os
import statistics
import time
from pathlib import Path
from typing import Dict, Optional

from .utils import atomic_write_json, atomic_write_text
from .utils.paths import config_path

# The quickstart's settings and what they cost on 2 CPU cores with its structure at 192x128
# (README, 2026-12-03: structural 4.3 min, supernet 9.9, search 2.5, retrain 18.7).
QUICK = dict(trials=6, trial_iters=40, supernet_iters=300, search_trials=20, finalists=3, retrain_iters=600,
             minutes=35.4, pixels=192 * 128)
LARGEST_INPUT = (1333, 800)


class DataError(ValueError):
    """Data or a budget that cannot be searched on; the message says what and where."""


def _coco_root(path: Path) -> Optional[Path]:
    ann = path / 'annotations'
    if (ann / 'instances_train.json').is_file() and (ann / 'instances_val.json').is_file():
        return path
    return None


def prepare(data: Path, work_dir: Path) -> Path:
    """The COCO-JSON root of ``data``: itself, or its conversion in ``work_dir/data``.

    Raises:
        DataError: a folder that is no dataset, or that the converter refuses (its message).
    """
    from .data.cli import main as convert

    data = Path(data)
    if not data.is_dir():
        raise DataError(f'{data} is not a folder')
    root = _coco_root(data)
    if root is not None:
        return root
    out = work_dir / 'data'
    if _coco_root(out) is not None:
        return out  # converted by an earlier run
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        rc = convert([str(data), '--out', str(out)])
    if rc != 0:
        raise DataError(f'{data} could not be converted: {err.getvalue().strip().removeprefix("error: ")}')
    return out


def summarise(root: Path) -> Dict[str, object]:
    """Classes, boxes per class, images per split and the median training image size.

    Raises:
        DataError: no labelled training image, a class without a training box, or no
            validation images.
    """
    def load(split):
        return json.loads((root / 'annotations' / f'instances_{split}.json').read_text())

    train, val = load('train'), load('val')
    names = {c['id']: c['name'] for c in train['categories']}
    boxes = {n: 0 for n in names.values()}
    for a in train['annotations']:
        if not a.get('ignore') and not a.get('iscrowd'):
            boxes[names[a['category_id']]] += 1
    where = root / 'annotations' / 'instances_train.json'
    if not train['annotations'] or not any(boxes.values()):
        raise DataError(f'{where}: no labelled boxes in the training split ({len(train["images"])} images); '
                        f'nothing to learn from')
    empty = [n for n, k in boxes.items() if k == 0]
    if empty:
        raise DataError(f'{where}: class(es) {", ".join(empty)} have no training box; remove them from the '
                        f'class list (--classes of the converter) or label some')
    if not val['images']:
        raise DataError(f'{root / "annotations" / "instances_val.json"}: no validation images; the search '
                        f'scores on them (the converter splits off 20% by default)')
    sizes = [(im['width'], im['height']) for im in train['images']]
    return dict(root=str(root), classes=list(names.values()), boxes_per_class=boxes,
                train_images=len(train['images']), val_images=len(val['images']),
                median_size=[int(statistics.median(w for w, _ in sizes)),
                             int(statistics.median(h for _, h in sizes))])


def input_scale(median_size) -> float:
    """The structural ``input_scale``: 1333x800 scaled onto the median image, never up."""
    w, h = median_size
    return round(min(1.0, max(w / LARGEST_INPUT[0], h / LARGEST_INPUT[1])), 3)


def plan(hours: float, scale: float) -> Dict[str, int]:
    """The run's settings for a budget of ``hours`` at structural ``input_scale``.

    Raises:
        DataError: a budget too small for the smallest run.
    """
    side = [max(32, round(v * scale / 32) * 32) for v in (800, 600)]
    pixels = side[0] * side[1]
    f = hours * 60 / (QUICK['minutes'] * pixels / QUICK['pixels'])
    least = QUICK['minutes'] * pixels / QUICK['pixels'] / 4 / 60
    if f < 0.25:
        raise DataError(f'a budget of {hours:g} h is too small for one candidate at {side[0]}x{side[1]} '
                        f'(800x600 scaled by {scale}): give at least {least:.2f} h (--budget-hours)')
    r = math.sqrt(f)
    return dict(trials=max(4, round(QUICK['trials'] * r)),
                trial_iters=max(20, round(QUICK['trial_iters'] * r)),
                supernet_iters=max(100, round(QUICK['supernet_iters'] * f)),
                search_trials=max(10, round(QUICK['search_trials'] * f)), finalists=3 if f < 2 else 6,
                retrain_iters=max(200, round(QUICK['retrain_iters'] * f)), budget_factor=round(f, 3))


def _data_keys(root: Path) -> str:
    r = f'{root.resolve()}/'
    return (f'prepare_data = None\ndata_root = {r!r}\n'
            'train_dataloader = dict(dataset=dict(data_root=data_root))\n'
            'val_dataloader = dict(dataset=dict(data_root=data_root))\n'
            'test_dataloader = val_dataloader\n'
            "val_evaluator = dict(ann_file=data_root + 'annotations/instances_val.json')\n"
            'test_evaluator = val_evaluator\n')


def write_configs(work_dir: Path, summary: dict, scale: float, settings: dict, data: Path,
                  device: str = 'cpu') -> Path:
    """Write the run's configs to ``work_dir``; returns ``pipeline.py``."""
    work_dir.mkdir(parents=True, exist_ok=True)
    root = Path(summary['root'])
    head = f'# Written by `smnas run --data {data}` on {time.strftime("%Y-%m-%d %H:%M")}.\n'
    # Structures the modular stage refines (no MobileNetV2 yet): a short search must end
    # with one it can refine. Bottleneck backbones, C4 (res5 on every RoI) and GA-RPN (a
    # deformable conv per level) only where a GPU runs them.
    cpu = device == 'cpu'
    backbones = ['r18'] if cpu else ['r18', 'r50', 'x50']
    necks = ['fpn-p2p5-p6', 'fpn-p3p5-p6', 'fpn-p3p5-p5'] + ([] if cpu else ['c4'])
    rpns = ['none', 'rpn'] + ([] if cpu else ['ga'])
    atomic_write_text(work_dir / 'structural.py', head + (
        f'_base_ = {str(config_path("structural/quickstart_synthetic.py"))!r}\n' + _data_keys(root) +
        f'search_space = dict(input_scale={scale}, backbones={backbones!r}, necks={necks!r}, '
        f'rpns={rpns!r})\n'))
    atomic_write_text(work_dir / 'supernet.py', head + (
        f'_base_ = {str(config_path("supernet/quickstart_synthetic.py"))!r}\n' + _data_keys(root) +
        f'model = dict(architecture=dict(num_classes={len(summary["classes"])}))\n'))
    s = settings
    it = s['trial_iters']
    structural = {'search.n_trials': s['trials'], 'search.population_size': max(4, s['trials'] // 2),
                  'train_cfg.max_iters': it, 'train_cfg.val_interval': it + 1,
                  'param_scheduler.0.end': max(1, it // 6), 'param_scheduler.1.end': it,
                  'param_scheduler.1.milestones': [int(it * 0.75), int(it * 0.9)],
                  'default_hooks.checkpoint.interval': max(1, it // 2)}
    n = s['supernet_iters']
    supernet = {'train_cfg.max_iters': n, 'train_cfg.val_interval': n,
                'param_scheduler.0.end': max(1, n // 10), 'param_scheduler.1.end': n,
                'param_scheduler.1.milestones': [int(n * 0.75), int(n * 0.9)],
                'default_hooks.checkpoint.interval': max(1, n // 6)}
    search = {'subnet_search.n_trials': s['search_trials'],
              'subnet_search.population_size': max(4, min(30, s['search_trials'] // 3))}
    pipeline = dict(structural=dict(config='structural.py', cfg_options=structural), structure=None,
                    supernet=dict(config='supernet.py', cfg_options=supernet),
                    subnet_search=dict(cfg_options=search, flops_range=None, finalists=s['finalists']),
                    retrain=dict(cfg_options={}, iters=s['retrain_iters'], timeout=None))
    path = work_dir / 'pipeline.py'
    atomic_write_text(path, head + '# Rerun (or resume): smnas run ' + str(path) + '\n' +
                      f'work_dir = {str(work_dir.resolve())!r}\npipeline = {pipeline!r}\n')
    return path


def run_data(data: str, work_dir: Optional[str] = None, hours: float = 0.5, device: str = 'cpu') -> Path:
    """Prepare ``data``, plan the budget, write the configs and run the pipeline.

    Returns:
        The final report.

    Raises:
        DataError: bad data, budget or device, before any training.
    """
    from mmengine.config import Config

    from .pipeline import Pipeline

    data = Path(data)
    work = Path(work_dir or Path('work_dirs') / data.resolve().name)
    if device == 'cpu':
        os.environ['CUDA_VISIBLE_DEVICES'] = ''  # every stage and its child processes
    else:
        import torch
        if not torch.cuda.is_available():
            raise DataError('--device cuda: no CUDA device is visible (torch.cuda.is_available() is False)')
    root = prepare(data, work)
    summary = summarise(root)
    scale = input_scale(summary['median_size'])
    settings = plan(hours, scale)
    atomic_write_json(work / 'data.json', dict(summary, source=str(data.resolve()), input_scale=scale,
                                               budget_hours=hours, device=device, plan=settings), indent=1)
    print(f'[smnas] {data}: {summary["train_images"]} training and {summary["val_images"]} val images, '
          f'{len(summary["classes"])} classes ({", ".join(summary["classes"])}); median image '
          f'{summary["median_size"][0]}x{summary["median_size"][1]}, input scale {scale}; '
          f'{hours:g} h budget: {settings["trials"]} structures x {settings["trial_iters"]} iterations, '
          f'supernet {settings["supernet_iters"]}, {settings["search_trials"]} subnets, '
          f'{settings["finalists"]} finalists x {settings["retrain_iters"]}', flush=True)
    cfg_path = write_configs(work, summary, scale, settings, data, device)
    return Pipeline(Config.fromfile(str(cfg_path)), str(work)).run()
