"""Config loading for the tools: overrides, work dir, resume."""
import pytest

from smnas.engine import load_config
from smnas.testing import config_path

CFG = str(config_path('baseline/faster-rcnn_r18-gnws_fpn_synthetic.py'))


def test_work_dir_default_and_overrides(tmp_path):
    cfg = load_config(CFG, cfg_options={'train_cfg.max_iters': 7})
    assert cfg.work_dir.endswith('work_dirs/faster-rcnn_r18-gnws_fpn_synthetic')
    assert cfg.train_cfg.max_iters == 7 and cfg.resume is False
    # --resume in a fresh work dir: nothing to resume, the config's initial weights are kept
    cfg = load_config(CFG, work_dir=str(tmp_path), resume='auto', cfg_options={'load_from': 'init.pth'})
    assert cfg.work_dir == str(tmp_path) and cfg.resume is False and cfg.load_from == 'init.pth'
    # once the work dir holds a checkpoint, it resumes from the latest
    (tmp_path / 'iter_1.pth').write_bytes(b'')
    (tmp_path / 'last_checkpoint').write_text(str(tmp_path / 'iter_1.pth'))
    cfg = load_config(CFG, work_dir=str(tmp_path), resume='auto', cfg_options={'load_from': 'init.pth'})
    assert cfg.resume is True and cfg.load_from is None


def test_resume_from_missing_checkpoint_is_an_error(tmp_path):
    with pytest.raises(FileNotFoundError, match='nope.pth'):
        load_config(CFG, resume=str(tmp_path / 'nope.pth'))
    with pytest.raises(FileNotFoundError, match='does not exist'):
        load_config(str(tmp_path / 'missing.py'))
