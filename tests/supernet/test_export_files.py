"""Exported files: a plain config + checkpoint that mmengine loads, equal to the supernet."""
import pytest
import torch
from mmengine.config import Config
from mmengine.runner import load_checkpoint

from smnas.testing import build_detector, demo_batch
from smnas.modular.structure import supernet_model_cfg
from smnas.modular.export import NotASupernetCheckpoint, export_config, export_to_files
from supernet.space import InvalidSubnet

from .common import RCNN, TINY_SPACE

SPACE = TINY_SPACE
SUB = '24_11-12-21-2_n32_h64'


@pytest.fixture(scope='module')
def trained(tmp_path_factory):
    d = tmp_path_factory.mktemp('sn')
    cfg = Config(dict(
        model=dict(type='SandwichSupernet', architecture=supernet_model_cfg(RCNN, SPACE, 3),
                   space=SPACE.to_dict(), num_random_subnets=1),
        custom_hooks=[dict(type='SupernetMetaHook')]))
    model = build_detector(cfg.model)
    torch.save(dict(state_dict=model.state_dict(), meta=dict(supernet_space=SPACE.to_dict())),
               d / 'sn.pth')
    return cfg, model, d


def test_exported_files_load_and_match(trained, tmp_path):
    cfg, model, d = trained
    cfg_path, ckpt_path = export_to_files(cfg, str(d / 'sn.pth'), SUB, str(tmp_path))
    static_cfg = Config.fromfile(cfg_path)
    assert static_cfg.model.backbone.type == 'SubnetResNet' and static_cfg.model.neck.type == 'FPN'
    static = build_detector(static_cfg.model)
    load_checkpoint(static, ckpt_path, strict=True)
    model.eval()
    static.eval()
    data = demo_batch(batch_size=1, size=(96, 96))
    with torch.no_grad(), model.mutator.use(SUB):
        a = model.test_step(data)[0].pred_instances
    with torch.no_grad():
        b = static.test_step(data)[0].pred_instances
    torch.testing.assert_close(a.scores, b.scores, rtol=1e-4, atol=1e-4)


def test_config_alone_equals_the_exported_one_without_weights(trained, tmp_path):
    cfg, _, d = trained
    with_weights, _ = export_to_files(cfg, str(d / 'sn.pth'), SUB, str(tmp_path / 'w'))
    alone = export_config(cfg, SUB, str(tmp_path / 'c'))
    a, b = Config.fromfile(with_weights), Config.fromfile(alone)
    assert b.load_from is None and a.load_from.endswith(f'{SUB}.pth')
    assert a.model.to_dict() == b.model.to_dict()
    assert not (tmp_path / 'c' / f'{SUB}.pth').exists()
    with pytest.raises(InvalidSubnet, match='base-choice'):
        export_config(cfg, '40_1-2-2-2_n32_h32', str(tmp_path / 'c'))


def test_refuses_other_spaces_plain_checkpoints_and_bad_subnets(trained, tmp_path):
    cfg, model, d = trained
    torch.save(dict(state_dict=model.state_dict(), meta=dict(supernet_space=dict(bases=[8]))),
               d / 'other.pth')
    with pytest.raises(NotASupernetCheckpoint, match='another search space'):
        export_to_files(cfg, str(d / 'other.pth'), SUB, str(tmp_path))
    torch.save(dict(state_dict=model.state_dict(), meta={}), d / 'plain.pth')
    with pytest.raises(NotASupernetCheckpoint, match='not a supernet checkpoint'):
        export_to_files(cfg, str(d / 'plain.pth'), SUB, str(tmp_path))
    with pytest.raises(InvalidSubnet, match='base-choice'):
        export_to_files(cfg, str(d / 'sn.pth'), '40_1-2-2-2_n32_h32', str(tmp_path))
    # a few-shot part's checkpoint exports the subnets of its part only
    torch.save(dict(state_dict=model.state_dict(),
                    meta=dict(supernet_space=SPACE.to_dict(), supernet_part=dict(neck_channels=[64]))),
               d / 'part.pth')
    with pytest.raises(NotASupernetCheckpoint, match=r'few-shot part neck_channels=\[64\] .* is not in it'):
        export_to_files(cfg, str(d / 'part.pth'), SUB, str(tmp_path))  # n32
    assert export_to_files(cfg, str(d / 'part.pth'), SUB.replace('_n32', '_n64'), str(tmp_path / 'p'))


def test_export_tool_in_a_fresh_process(trained, tmp_path):
    import subprocess
    import sys

    from smnas.testing import REPO_ROOT
    cfg, _, d = trained
    cfg_file = tmp_path / 'supernet_cfg.py'
    cfg.dump(str(cfg_file))
    proc = subprocess.run([sys.executable, 'tools/export_subnet.py', str(cfg_file), str(d / 'sn.pth'),
                           '--subnet', SUB, '--out', str(tmp_path / 'out')], cwd=REPO_ROOT,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert (tmp_path / 'out' / f'{SUB}.pth').is_file()
    proc = subprocess.run([sys.executable, 'tools/export_subnet.py', str(cfg_file), str(d / 'sn.pth'),
                           '--subnet', '64_1-21-21-12_n256_h128', '--out', str(tmp_path / 'o2')],
                          cwd=REPO_ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2 and 'base-choice' in proc.stderr


@pytest.mark.slow  # eight fresh processes (40 s); test_export.py checks the families in-process
def test_export_tool_keeps_the_structures_block_family(tmp_path):
    """max/min of supernet configs built around R18, R50, X50, X101 and MobileNetV2
    structures, with FPN and C4, RPN and GA-RPN."""
    import subprocess
    import sys

    from mmengine.config import Config

    from smnas.testing import REPO_ROOT, config_path

    def export(structure, subnet):
        out = tmp_path / f'{structure}_{subnet}'
        cmd = [sys.executable, 'tools/export_subnet.py', str(config_path('supernet/quickstart_synthetic.py')),
               '--subnet', subnet, '--out', str(out),
               '--cfg-options', f'model.architecture.structure={structure}']
        proc = subprocess.run(cmd, cwd=REPO_ROOT, capture_output=True, text=True, timeout=300)
        return proc, out

    for structure, block, subnet in [('r50_fpn-p2p5-p6_rpn_cascade2_160x120', 'bottleneck', 'max'),
                                     ('x101_fpn-p3p5-p6_none_retina_160x120', 'grouped', 'min'),
                                     ('r18_c4_ga_rcnn_160x120', 'basic', 'min'),
                                     ('x50_c4_rpn_rcnn_160x120', 'grouped', 'max'),
                                     ('r50_fpn-p2p5-p6_ga_rcnn_160x120', 'bottleneck', 'min')]:
        proc, out = export(structure, subnet)
        assert proc.returncode == 0, proc.stderr[-2000:]
        model = Config.fromfile(str(next(out.glob('*.py')))).model
        assert model.backbone.type == 'SubnetResNet' and model.backbone.get('block', 'basic') == block
        if '_c4_' in structure:  # res5 is the RoI head, of the same family
            head = model.roi_head.shared_head
            assert model.backbone.num_stages == 3 and head.type == 'SubnetResStage'
            assert head.get('block', 'basic') == block and '_n0_' in head.arch
        assert model.get('rpn_head', {}).get('type') in (None, 'GARPNHeadFeat' if '_ga_' in structure
                                                         else 'RPNHead')
    proc, out = export('mv2_fpn-p3p5-p6_none_retina_160x120', 'max')
    assert proc.returncode == 0, proc.stderr[-2000:]
    model = Config.fromfile(str(next(out.glob('*.py')))).model
    assert model.backbone.block == 'inverted' and '_e6_' in model.backbone.arch  # MobileNetV2's blocks
    proc, out = export('mv2_fpn-p1p5-p6_none_retina_160x120', 'min')  # P1: the stem's output
    assert proc.returncode == 0, proc.stderr[-2000:]
    model = Config.fromfile(str(next(out.glob('*.py')))).model
    assert model.backbone.out_indices[0] == -1 and model.neck.in_channels[0] == 48  # the min base width
    proc, _ = export('r18_fpn-p2p5-p6_rpn_rcnn_160x120', '48_1-2-2-2_e3_n128_h128')
    assert proc.returncode == 2 and 'expand-choice' in proc.stderr
