"""A stand-in for training: deterministic scores from the architecture, no compute.

Tests install it with the ``fake_training`` fixture (pytest's monkeypatch, undone
after each test), so later tests, the pipeline's included, train for real.
"""
import hashlib
import json
from pathlib import Path
from unittest import mock

from mmengine.config import Config

from smnas.search import structural
from smnas.records import TrialResult
from smnas.search.trial import TrialFailed, write_result
from smnas.testing import config_path

CALLS_FILE = 'fake_calls.txt'


def fake_run(cfg, trial_dir, timeout=None, env=None):
    trial_dir = Path(trial_dir)
    arch = cfg.candidate['arch']
    with open(trial_dir.parents[1] / CALLS_FILE, 'a') as f:
        f.write(arch + '\n')
    if 'fail' in cfg.get('fake', {}) and cfg.fake['fail'] in arch:
        raise TrialFailed('loss became non-finite at iteration 3: loss=nan')
    h = int(hashlib.sha256(arch.encode()).hexdigest()[:8], 16)
    w, hgt = cfg.candidate['input_size']
    result = TrialResult(arch=arch, input_size=[w, hgt], mAP=(h % 1000) / 2000, mAP_50=(h % 1000) / 1000,
                         mAP_se=0.0125,
                         latency_ms=w * hgt / 100 + h % 50, flops=float(w * hgt * 1e4), params=1e6,
                         device='fake', train_seconds=0.0)
    trial_dir.mkdir(parents=True, exist_ok=True)
    return write_result(trial_dir, result)


def search_cfg(**search):
    cfg = Config.fromfile(str(config_path('structural/quickstart_synthetic.py')))
    cfg.merge_from_dict({'search.num_classes': 5, **{f'search.{k}': v for k, v in search.items()}})
    return cfg


def install(monkeypatch) -> None:
    """Replace the structural search's trial runner by :func:`fake_run` for one test."""
    monkeypatch.setattr(structural, 'run_trial_subprocess', fake_run)


def run_search(work_dir, workers=1, fail=None, **search):
    """A structural search (the caller has installed the stand-in)."""
    cfg = search_cfg(**search)
    if fail:
        cfg.fake = dict(fail=fail)
    s = structural.StructuralSearch(cfg, str(work_dir), workers=workers)
    study = s.run()
    return s, study


def calls(work_dir):
    p = Path(work_dir) / CALLS_FILE
    return p.read_text().split() if p.is_file() else []


def worker_main(work_dir, n_trials):  # a worker process: the stand-in for its lifetime
    with mock.patch.object(structural, 'run_trial_subprocess', fake_run):
        run_search(work_dir, n_trials=n_trials)


def trial_archs(study):
    return [t.user_attrs.get('arch') for t in study.get_trials()]


def load(path):
    return json.loads(Path(path).read_text())
