"""Finalists E0-E5 of a subnet search: chosen spread along the front by FLOPs,
exported (plain mmdet config + inherited weights), retrained from scratch.

Records live in ``<search work dir>/finalists/finalists.json`` (written atomically
after every step), so retraining resumes finalist by finalist.
"""
import json
from pathlib import Path
from typing import List, Optional

from mmengine.config import Config

from ..engine.schedule import rescale_schedule
from ..records import Finalist
from ..search.pareto import pareto_front, spread_along
from ..search.study import arch_outcomes
from ..utils import atomic_write_json

RECORDS = 'finalists.json'


def select_finalists(study, k: int = 6) -> List[tuple]:
    """Up to ``k`` (subnet, score, cost) points spread along the front by cost: the
    search's study values (its score is the mAP, or a negated loss)."""
    pts = [(a, o['values'][0], o['values'][1]) for a, o in arch_outcomes(study).items()
           if o['state'] == 'complete']
    return spread_along(pareto_front(pts), k)


def _dir(search) -> Path:
    return Path(search.work_dir) / 'finalists'


def load_finalists(search_work_dir) -> Optional[List[Finalist]]:
    """The finalist records of a search work dir, or None before selection."""
    p = Path(search_work_dir) / 'finalists' / RECORDS
    return [Finalist.from_dict(d) for d in json.loads(p.read_text())] if p.is_file() else None


def save_finalists(search_work_dir, records: List[Finalist]) -> None:
    """Store the finalist records atomically."""
    atomic_write_json(Path(search_work_dir) / 'finalists' / RECORDS, [r.to_dict() for r in records], indent=1)


def export_finalists(search, study, k: int = 6) -> List[Finalist]:
    """Select up to ``k`` finalists and export each as ``finalists/E<i>/<subnet>.py|.pth``.

    Args:
        search: the :class:`~smnas.search.subnet.SubnetSearch`.
        study: its study.
        k: most finalists.

    Returns:
        The finalist records (name, subnet, GFLOPs, inherited mAP, exported files).
    """
    from .export import export_to_files

    records = []
    outcomes = search.outcomes(study)  # with the front's mAP scored after the search
    for i, (arch, m, cost) in enumerate(select_finalists(study, k)):
        out = _dir(search) / f'E{i}'
        # an ensemble's first supernet gives the inherited weights (they are retrained anyway)
        weights = search.supernets.first.checkpoint_of(arch)
        cfg_path, ckpt_path = export_to_files(search.cfg, weights, arch, str(out))
        attrs = outcomes[arch].get('attrs', {})
        # the search's cost is FLOPs, or a predicted latency (then FLOPs are an attribute)
        flops = attrs.get('flops', cost)
        # the study's value is the search's score, the mAP or a negated loss
        inherited = attrs.get('mAP', m if search.score_key == 'mAP' else None)
        records.append(Finalist(name=f'E{i}', arch=arch, gflops=flops / 1e9,
                                mAP_inherited=inherited, mAP_50_inherited=attrs.get('mAP_50'),
                                config=cfg_path, checkpoint=ckpt_path,
                                input_size=list(search.input_size)))
    save_finalists(search.work_dir, records)
    return records


def finalists_from_subnets(cfg, subnets: List[str], work_dir) -> List[Finalist]:
    """Finalist records for chosen subnets of ``cfg``'s space, without a search or a
    supernet: each exported as a plain config (no weights) to ``finalists/E<i>/``, in
    the given order, ready for :func:`retrain_finalists`. A work dir that already holds
    these finalists keeps its records (and what was retrained).

    Args:
        cfg: the supernet's config (its space, data and schedule).
        subnets: subnet strings, e.g. from an earlier search's report.
        work_dir: where ``finalists/finalists.json`` goes.

    Returns:
        The records (name, subnet, config, input size; no inherited mAP).

    Raises:
        supernet.space.InvalidSubnet: a subnet is outside the space.
        ValueError: ``work_dir`` holds other finalists.
    """
    from .export import export_config

    from ..search.subnet import val_input_size

    stored = load_finalists(work_dir)
    if stored is not None:
        if [r.arch for r in stored] != list(subnets):
            raise ValueError(f'{work_dir} holds the finalists {[r.arch for r in stored]}, not '
                             f'{list(subnets)}: use another work dir')
        return stored
    size = list(cfg.get('subnet_search', {}).get('input_size') or val_input_size(cfg))
    records = []
    for i, arch in enumerate(subnets):
        path = export_config(cfg, arch, str(Path(work_dir) / 'finalists' / f'E{i}'))
        records.append(Finalist(name=f'E{i}', arch=arch, config=path, input_size=size))
    save_finalists(work_dir, records)
    return records


def retrain_config(record: Finalist, overrides: Optional[dict] = None,
                   max_iters: Optional[int] = None) -> Config:
    """The from-scratch training config of a finalist: its exported config without the
    inherited weights, scored on the validation split (the split the search used),
    with ``overrides`` (dotted keys: schedule...) applied.

    Args:
        record: a finalist (its ``config``, ``arch`` and ``input_size``).
        overrides: dotted config keys.
        max_iters: the schedule rescaled to this many iterations
            (:func:`smnas.engine.rescale_schedule`); None keeps the supernet's.

    Returns:
        A config for :func:`smnas.search.trial.run_trial_subprocess`.
    """
    cfg = Config.fromfile(record.config)
    cfg.load_from = None
    cfg.test_dataloader = cfg.val_dataloader
    cfg.test_evaluator = cfg.val_evaluator
    cfg.test_cfg = dict(type='TestLoop')
    # Scored once after training; validating at the end as well would do it twice.
    cfg.val_cfg = None
    cfg.val_dataloader = None
    cfg.val_evaluator = None
    cfg.candidate = dict(arch=record.arch, input_size=list(record.input_size))
    cfg.measure = dict(cfg.get('measure', {}))
    if overrides:
        cfg.merge_from_dict(dict(overrides))
    if max_iters:
        rescale_schedule(cfg, int(max_iters))
    return cfg


def deploy_finalist(record: Finalist, check_images: int = 8) -> None:
    """Export a retrained finalist to ONNX (``<retrain dir>/../onnx``), check it against
    PyTorch on val images and time both; the results go into ``record``. A failed export
    is recorded in ``onnx_error`` and the retraining is kept."""
    from ..deploy.onnx import deploy

    run_dir = Path(record.retrain_dir)
    out = run_dir.parent / 'onnx'
    try:
        ckpt = (run_dir / 'last_checkpoint').read_text().strip()
        cfg = Config.fromfile(str(run_dir / 'config.py'))
        m = deploy(cfg, ckpt, out, check_images, source=dict(finalist=record.name, arch=record.arch))
    except Exception as e:  # noqa: BLE001  an export failure must not lose the retraining
        record.onnx_error = f'{type(e).__name__}: {e}'
        print(f'[onnx] {record.name}: export failed: {record.onnx_error}', flush=True)
        return
    record.onnx, record.onnx_error = str(out), None
    if 'latency' in m:
        record.onnx_latency_ms = m['latency']['onnx_ms']
        record.torch_graph_latency_ms = m['latency']['torch_ms']
        record.onnx_check = m['check']
        c = m['check']
        print(f'[onnx] {record.name}: {out}/model.onnx, {c["matched"]}/{c["reference"]} detections as '
              f'PyTorch, {record.onnx_latency_ms:.1f} ms (PyTorch {record.torch_graph_latency_ms:.1f} ms)',
              flush=True)


def retrain_finalists(search_work_dir, overrides: Optional[dict] = None,
                      timeout: Optional[float] = None, max_iters: Optional[int] = None,
                      onnx: bool = True) -> List[Finalist]:
    """Retrain every finalist from scratch (each in its own process; finished ones are
    kept, interrupted ones resume), measure it, export it to ONNX, and record the results.

    Args:
        search_work_dir: the subnet search's work dir (with ``finalists/finalists.json``).
        overrides: dotted config keys for the retraining schedule.
        timeout: seconds per finalist.
        max_iters: the supernet's schedule rescaled to this many iterations.
        onnx: export each retrained finalist (:func:`deploy_finalist`).

    Returns:
        The records with ``mAP_retrained``, ``params``, ``latency_ms``, ``device``,
        ``onnx``... (or ``error`` for a finalist whose training failed).
    """
    from ..search.trial import TrialFailed, run_trial_subprocess

    records = load_finalists(search_work_dir)
    if records is None:
        raise FileNotFoundError(f'{search_work_dir} has no finalists yet: run tools/search_subnet.py first')
    for r in records:
        if r.retrained:
            if onnx and r.onnx is None:  # retrained before exports existed, or an export failed
                deploy_finalist(r)
                save_finalists(search_work_dir, records)
            continue
        print(f'[retrain] {r.name} {r.arch} from scratch', flush=True)
        run_dir = Path(search_work_dir) / 'finalists' / r.name / 'retrain'
        try:
            res = run_trial_subprocess(retrain_config(r, overrides, max_iters), run_dir, timeout)
        except TrialFailed as e:
            r.error = str(e)
            print(f'[retrain] {r.name} failed: {e}', flush=True)
        else:
            r.record_retraining(res, run_dir, overrides, max_iters)
            inherited = '' if r.mAP_inherited is None else f' (inherited {r.mAP_inherited:.4f})'
            print(f'[retrain] {r.name}: mAP {res.mAP:.4f}{inherited}, {res.latency_ms:.1f} ms', flush=True)
            save_finalists(search_work_dir, records)
            if onnx:
                deploy_finalist(r)
        save_finalists(search_work_dir, records)
    return records
