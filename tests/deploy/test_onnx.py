"""The ONNX graph computes mmdet's detections: eagerly (exactly) and under
onnxruntime (within float tolerance), for every detector type of the structural space,
and the export tool's check against PyTorch on real image files."""
import json

import numpy as np
import pytest
import torch
from mmdet.structures import DetDataSample

from smnas.deploy.graph import DetectorGraph, UnsupportedDetector
from smnas.deploy.runtime import resize_scale
from smnas.structural.builder import build_model_cfg
from smnas.structural.space import Candidate
from smnas.testing import build_detector, config_path

from ..tool_helpers import run_tool, tiny_options

ort = pytest.importorskip('onnxruntime')

HW = (64, 96)  # padded input (h, w)
VALID = torch.tensor([60, 90])  # the image inside the padding: boxes are clipped to it


def _tiny(structure: str, score_thr: float = 0.0):
    m = build_model_cfg(Candidate.parse(structure), 3, fpn_channels=32, fc_channels=32)
    test = m['test_cfg']['rcnn'] if 'roi_head' in m else m['test_cfg']
    test['score_thr'] = score_thr  # random weights score low: keep every box
    if structure.startswith('r18_c4_ga'):
        # 128-pixel squares at stride 16 cover this 96x64 image whole (one proposal
        # survives NMS): squares of 16 pixels give proposals to compare
        m['rpn_head']['square_anchor_generator']['scales'] = [1]
        m['rpn_head']['approx_anchor_generator']['octave_base_scale'] = 1  # (GA's rule: equal)
    return build_detector(m).eval()


def _image(seed=0):
    return torch.rand(1, 3, *HW, generator=torch.Generator().manual_seed(seed)) * 255


def _mmdet(det, graph, img):
    x = (img[:, [2, 1, 0]] - graph.mean) / graph.std
    meta = dict(img_shape=tuple(VALID.tolist()), ori_shape=tuple(VALID.tolist()), pad_shape=HW,
                batch_input_shape=HW, scale_factor=(1.0, 1.0))
    with torch.no_grad():
        r = det.predict(x, [DetDataSample(metainfo=meta)], rescale=False)[0].pred_instances
    return r.bboxes, r.scores, r.labels


def _onnx(graph, img, path):
    torch.onnx.export(graph, (img, VALID), str(path), input_names=['image', 'img_hw'],
                      output_names=['boxes', 'scores', 'labels'], opset_version=graph.opset, dynamo=False)
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    return ort.InferenceSession(str(path), opts)


@pytest.mark.parametrize('structure', [
    'r18_fpn-p3p5-p6_none_retina_800x600',
    'r18_fpn-p2p5-p6_rpn_rcnn_800x600',
    'r18_fpn-p2p5-p6_rpn_cascade3_800x600',
    'r18_c4_rpn_rcnn_800x600',
    'r18_fpn-p2p5-p6_ga_rcnn_800x600',  # the deformable conv: ONNX DeformConv, opset 19
    'r18_c4_ga_rcnn_800x600',
    pytest.param('mv2_fpn-p3p5-p5_none_retina_800x600', marks=pytest.mark.slow),  # another backbone only
])
def test_graph_equals_mmdet_and_onnxruntime_equals_graph(structure, tmp_path):
    _check_graph(_tiny(structure), tmp_path)


@pytest.mark.parametrize('structure', ['r18_c4_rpn_rcnn_800x600', 'mv2_fpn-p3p5-p5_none_retina_800x600'])
def test_an_exported_subnet_deploys(structure, tmp_path):
    """Finalists of the modular stage: a C4 one (its res5 RoI head is ours, SubnetResStage)
    and an inverted-residual one."""
    from smnas.modular.structure import supernet_model_cfg
    from supernet.export import static_model_cfg

    from ..supernet.common import tiny_space

    space = tiny_space(structure)
    cfg = static_model_cfg(supernet_model_cfg(structure, space, 3), space.min_subnet())
    (cfg['test_cfg'].get('rcnn') or cfg['test_cfg'])['score_thr'] = 0.0
    torch.manual_seed(0)
    _check_graph(build_detector(cfg).eval(), tmp_path)


def _check_graph(det, tmp_path):
    graph = DetectorGraph(det, HW).eval()
    img = _image()
    with torch.no_grad():
        boxes, scores, labels = graph(img, VALID)
    ref = _mmdet(det, graph, img)
    assert len(scores) >= 20, 'too few detections to compare'
    torch.testing.assert_close(boxes, ref[0], rtol=0, atol=1e-5)
    torch.testing.assert_close(scores, ref[1], rtol=0, atol=1e-6)
    assert labels.tolist() == ref[2].tolist()
    assert float(boxes[:, 2].max()) <= 90 and float(boxes[:, 3].max()) <= 60  # clipped to img_hw
    # a second image through the same graph: nothing of the first was frozen in
    sess = _onnx(graph, img, tmp_path / 'm.onnx')
    img2 = _image(1)
    with torch.no_grad():
        b2, s2, l2 = graph(img2, VALID)
    ob, osc, ol = sess.run(None, {'image': img2.numpy(), 'img_hw': VALID.numpy()})
    assert len(osc) == len(s2) and (ol == l2.numpy()).all()
    np.testing.assert_allclose(ob, b2.numpy(), atol=1e-2)
    np.testing.assert_allclose(osc, s2.numpy(), atol=1e-4)


@pytest.mark.parametrize('structure', ['r18_fpn-p2p5-p6_rpn_rcnn_800x600',
                                       'r18_fpn-p3p5-p6_none_retina_800x600'])
def test_no_detection_is_an_empty_result_not_an_error(structure, tmp_path):
    """Nothing above the threshold, at the trace (a weakly trained RetinaNet on the
    export's example) and at run time."""
    det = _tiny(structure, score_thr=1.0)
    graph = DetectorGraph(det, HW).eval()
    sess = _onnx(graph, _image(), tmp_path / 'm.onnx')
    boxes, scores, labels = sess.run(None, {'image': _image(2).numpy(), 'img_hw': VALID.numpy()})
    assert boxes.shape == (0, 4) and scores.shape == (0,) and labels.shape == (0,)
    # the same graph still detects once scores pass: the trace froze no empty shape
    graph.dense_post.score_thr = 0.0 if graph.dense_post.score_thr is not None else None
    if not graph.two_stage:
        sess = _onnx(graph, _image(), tmp_path / 'm2.onnx')
        assert len(sess.run(None, {'image': _image(2).numpy(), 'img_hw': VALID.numpy()})[1]) > 0


def test_a_setting_outside_the_graph_is_refused_with_the_reason():
    det = _tiny('r18_fpn-p3p5-p6_ga_rcnn_800x600')
    det.test_cfg.rpn['nms_across_levels'] = True
    with pytest.raises(UnsupportedDetector, match='nms_across_levels'):
        DetectorGraph(det, HW)


def test_resize_rule_is_mmdets_and_fits_the_input():
    # landscape: mmcv's rescale_size rule (long edge to 1333 or short to 800)
    assert resize_scale(480, 640, (1333, 800), (800, 1344)) == pytest.approx(800 / 480)
    # portrait: mmdet would make it 800 wide and 1200 high; the fixed input holds 800 rows
    s = resize_scale(900, 600, (1333, 800), (800, 1344))
    assert int(900 * s + 0.5) <= 800 and s == pytest.approx(800 / 900)


def test_export_tool_matches_pytorch_on_image_files(tiny_data, tmp_path):
    """A subnet config of the quickstart's supernet (a static SubnetResNet), random
    weights saved as a checkpoint, exported and checked by the tool on the val images."""
    from mmengine.config import Config

    from smnas.modular.export import export_config
    from smnas.deploy.runtime import OnnxDetector

    cfg = Config.fromfile(str(config_path('supernet/quickstart_synthetic.py')))
    cfg.model.architecture.num_classes = 5  # the tiny data's classes (generator default)
    opts = tiny_options(tiny_data, 2)
    sub_cfg = export_config(cfg, 'min', str(tmp_path / 'sub'))
    model = build_detector(Config.fromfile(sub_cfg).model)
    ckpt = tmp_path / 'w.pth'
    torch.save(dict(state_dict=model.state_dict()), ckpt)
    out = tmp_path / 'onnx'
    log = run_tool('tools/export_onnx.py', sub_cfg, str(ckpt), '--out', str(out), '--check-images', '3',
                   '--repeats', '2', '--threads', '1', '--cfg-options', *opts,
                   'model.test_cfg.rcnn.score_thr=0.0')
    m = json.loads((out / 'deploy.json').read_text())
    assert m['check']['images'] == 3 and m['check']['reference'] >= 30, log
    assert m['check']['match_rate'] == 1.0 and m['check']['max_box_diff'] < 0.05, m['check']
    assert m['latency']['onnx_ms'] > 0 and m['classes'] and m['input_hw'] == [64, 96]
    assert 'onnxruntime' in log
    # an image that mmdet's resize makes larger than the fixed input is not compared
    import cv2
    from smnas.deploy.onnx import _reference, build_trained
    cv2.imwrite(str(tmp_path / 'img.png'), np.full((60, 80, 3), 90, np.uint8))
    sub = Config.fromfile(sub_cfg)
    assert _reference(build_trained(sub, str(ckpt)), sub, str(tmp_path / 'img.png'), (32, 32)) is None
    # the runtime on an image of another shape: boxes in that image's pixels
    det = OnnxDetector(out, threads=1)
    boxes, scores, _ = det(np.full((100, 50, 3), 128, np.uint8))
    assert boxes.shape[1] == 4 and (boxes[:, 2] <= 50 + 1e-3).all() and (boxes[:, 3] <= 100 + 1e-3).all()
