"""A trained mmdet detector as one traceable module: normalisation, network and
post-processing (box decoding, score filtering, NMS) for one image of a fixed size.

mmdet's own ``predict`` branches on Python values that a trace would freeze (how many
scores pass the threshold, how many proposals survive). :class:`DetectorGraph` computes
the same detections with shapes that are either static (anchor counts at a fixed input
size) or carried as tensors, so that ``torch.onnx.export`` records a graph that is right
for every image. The steps mirror mmdet 3.3's ``RetinaHead``/``RPNHead``
(``_predict_by_feat_single``, ``_bbox_post_process``), ``StandardRoIHead``,
``CascadeRoIHead``, ``GARPNHead`` and ``multiclass_nms``; ``tests/deploy`` checks them against
``detector.predict`` for every detector type of the structural space.
"""
import math
from typing import List, Optional, Sequence, Tuple

import numpy as np
import torch
from torch import Tensor, nn
from mmdet.models.dense_heads import GARPNHead
from torchvision.ops import nms, roi_align


# DeltaXYWHBBoxCoder.decode's default, which no mmdet head overrides
WH_RATIO_CLIP = 16 / 1000


class UnsupportedDetector(ValueError):
    """The detector has a part this graph does not cover (e.g. another box coder)."""


def decode_deltas(priors: Tensor, deltas: Tensor, coder, img_hw: Optional[Tensor],
                  wh_ratio_clip: float = WH_RATIO_CLIP) -> Tensor:
    """Decode ``(n, 4k)`` deltas against ``(n, 4)`` priors as mmdet's
    ``DeltaXYWHBBoxCoder`` does (non-legacy), clipping to ``img_hw`` (a tensor, so the
    clip follows each image's valid region).

    Args:
        priors: boxes (x1, y1, x2, y2).
        deltas: ``(n, 4 * k)`` for k boxes per prior (class-specific regression).
        coder: the head's ``DeltaXYWHBBoxCoder`` (its means, stds and clamps).
        img_hw: ``(2,)`` height and width of the image inside the padded input; None:
            no clipping (as mmdet without ``max_shape``).
        wh_ratio_clip: the decoder's ``wh_ratio_clip``.

    Returns:
        ``(n, 4 * k)`` boxes.
    """
    k = deltas.shape[1] // 4
    d = deltas.reshape(-1, 4) * deltas.new_tensor(coder.stds) + deltas.new_tensor(coder.means)
    rois = priors.repeat(1, k).reshape(-1, 4)
    pxy = (rois[:, :2] + rois[:, 2:]) * 0.5
    pwh = rois[:, 2:] - rois[:, :2]
    dxy_wh = pwh * d[:, :2]
    max_ratio = float(np.abs(np.log(wh_ratio_clip)))
    if coder.add_ctr_clamp:
        dxy_wh = dxy_wh.clamp(min=-coder.ctr_clamp, max=coder.ctr_clamp)
        dwh = d[:, 2:].clamp(max=max_ratio)
    else:
        dwh = d[:, 2:].clamp(min=-max_ratio, max=max_ratio)
    gxy = pxy + dxy_wh
    gwh = pwh * dwh.exp()
    boxes = torch.cat([gxy - gwh * 0.5, gxy + gwh * 0.5], dim=-1)
    if coder.clip_border and img_hw is not None:
        zero = boxes.new_zeros(())
        w, h = img_hw[1].to(boxes), img_hw[0].to(boxes)
        x = torch.minimum(torch.maximum(boxes[:, 0::2], zero), w)
        y = torch.minimum(torch.maximum(boxes[:, 1::2], zero), h)
        boxes = torch.stack([x[:, 0], y[:, 0], x[:, 1], y[:, 1]], dim=-1)
    # (-1, 4k), not (n, -1): no box at all (nothing above a threshold) is a valid input
    return boxes.reshape(-1, 4 * k)


def batched_nms(boxes: Tensor, scores: Tensor, idxs: Tensor, iou_threshold: float) -> Tensor:
    """Per-group NMS by mmcv's coordinate offset; indices sorted by decreasing score.

    Unlike torchvision's ``batched_nms`` it has no branch on the box count, so a trace
    stays right when no box is left (the maximum is taken with a zero appended).
    """
    top = torch.cat([boxes.reshape(-1), boxes.new_zeros(1)]).max()
    offsets = idxs.to(boxes) * (top + 1)
    return nms(boxes + offsets[:, None], scores, iou_threshold)


def _min_size_mask(boxes: Tensor, min_size: float) -> Tensor:
    return ((boxes[:, 2] - boxes[:, 0]) > min_size) & ((boxes[:, 3] - boxes[:, 1]) > min_size)


def _size_filter_and_nms(boxes: List[Tensor], scores: List[Tensor], groups: List[Tensor], min_size: float,
                         iou: float, max_per_img: int) -> Tuple[Tensor, Tensor, Tensor]:
    """The levels' candidates joined, boxes not wider and taller than ``min_size`` dropped
    (none when it is negative), NMS within each group, the best ``max_per_img`` kept."""
    boxes, scores, groups = torch.cat(boxes), torch.cat(scores), torch.cat(groups)
    if min_size >= 0:
        ok = _min_size_mask(boxes, min_size)
        boxes, scores, groups = boxes[ok], scores[ok], groups[ok]
    keep = batched_nms(boxes, scores, groups, iou)[:max_per_img]
    return boxes[keep], scores[keep], groups[keep]


def _coder_check(coder, where: str) -> None:
    if type(coder).__name__ != 'DeltaXYWHBBoxCoder':
        raise UnsupportedDetector(f'{where} uses {type(coder).__name__}; the ONNX graph decodes '
                                  'DeltaXYWHBBoxCoder boxes only')


class DensePost(nn.Module):
    """Post-processing of a dense head (RetinaNet's, or an RPN's): per level the top
    ``nms_pre`` scores above the threshold, decoding, size filter, NMS.

    Args:
        head: the mmdet dense head (``RetinaHead`` or ``RPNHead``).
        cfg: its test config (``nms_pre``, ``score_thr``, ``min_bbox_size``, ``nms``,
            ``max_per_img``).
        priors: the anchors of every level at the fixed input size.
        per_level_nms: NMS groups are the levels (RPN) instead of the classes.
    """

    def __init__(self, head, cfg, priors: Sequence[Tensor], per_level_nms: bool):
        super().__init__()
        _coder_check(head.bbox_coder, type(head).__name__)
        if head.bbox_coder.encode_size != 4:
            raise UnsupportedDetector(f'{type(head).__name__} regresses {head.bbox_coder.encode_size} values')
        self.coder = head.bbox_coder
        self.num_classes = head.cls_out_channels
        self.sigmoid = head.use_sigmoid_cls
        self.nms_pre = int(cfg.get('nms_pre', -1))
        # mmdet's RPN ranks proposals without a score threshold
        self.score_thr = None if per_level_nms else float(cfg.get('score_thr', 0))
        self.min_size = float(cfg.get('min_bbox_size', -1))
        self.iou = float(cfg['nms']['iou_threshold'])
        self.max_per_img = int(cfg['max_per_img'])
        self.per_level_nms = per_level_nms
        for i, p in enumerate(priors):
            self.register_buffer(f'priors{i}', p.clone(), persistent=False)
        self.levels = len(priors)

    def forward(self, cls_scores: List[Tensor], bbox_preds: List[Tensor],
                img_hw: Tensor) -> Tuple[Tensor, Tensor, Tensor]:
        boxes, scores, groups = [], [], []
        for lvl in range(self.levels):
            priors = getattr(self, f'priors{lvl}')
            logits = cls_scores[lvl][0].permute(1, 2, 0).reshape(-1, self.num_classes)
            prob = logits.sigmoid() if self.sigmoid else logits.softmax(-1)[:, :-1]
            c = prob.shape[1]
            flat = prob.reshape(-1)
            # Top-k over every score, then the threshold: the same set as mmdet's
            # threshold-then-top-k, with k static at a fixed input size.
            k = flat.shape[0] if self.nms_pre <= 0 else min(self.nms_pre, flat.shape[0])
            top, idx = flat.topk(k)
            if self.score_thr is not None:
                keep = top > self.score_thr
                top, idx = top[keep], idx[keep]
            anchor = torch.div(idx, c, rounding_mode='floor')
            deltas = bbox_preds[lvl][0].permute(1, 2, 0).reshape(-1, 4)[anchor]
            boxes.append(decode_deltas(priors[anchor], deltas, self.coder, img_hw))
            scores.append(top)
            groups.append(torch.full_like(idx, lvl) if self.per_level_nms else idx - anchor * c)
        return _size_filter_and_nms(boxes, scores, groups, self.min_size, self.iou, self.max_per_img)


class _DeformConvOnnx(torch.autograd.Function):
    """mmcv's deformable conv (DCN v1, one weight group, no bias) in eager mode, ONNX's
    ``DeformConv`` (opset 19) in an export: mmcv's own symbolic is a custom op that
    onnxruntime lacks. The offsets' layout is the same: (y, x) pairs per kernel position."""

    @staticmethod
    def forward(ctx, x, offset, weight, kernel, stride, padding, dilation, deform_groups):
        from mmcv.ops import deform_conv as mmcv_deform_conv

        return mmcv_deform_conv.deform_conv2d(x, offset, weight, stride, padding, dilation, 1,
                                              deform_groups, False, 32)

    @staticmethod
    def symbolic(g, x, offset, weight, kernel, stride, padding, dilation, deform_groups):
        return g.op('DeformConv', x, weight, offset, kernel_shape_i=list(kernel), strides_i=list(stride),
                    pads_i=list(padding) * 2, dilations_i=list(dilation), group_i=1,
                    offset_group_i=deform_groups)


def _deform_conv(conv, x: Tensor, offset: Tensor) -> Tensor:
    """``conv`` (an mmcv ``DeformConv2d``) on ``x``, as its ``forward`` computes it
    (a map smaller than the kernel is padded, then cropped back); exportable to ONNX."""
    if conv.groups != 1:
        raise UnsupportedDetector('the ONNX graph covers deformable convs of one weight group')
    kh, kw = conv.kernel_size
    pad_h, pad_w = max(kh - x.shape[-2], 0), max(kw - x.shape[-1], 0)  # static at a fixed input
    if pad_h or pad_w:
        x = nn.functional.pad(x, (0, pad_w, 0, pad_h))
        offset = nn.functional.pad(offset, (0, pad_w, 0, pad_h))
    out = _DeformConvOnnx.apply(x, offset, conv.weight, (kh, kw), tuple(conv.stride), tuple(conv.padding),
                                tuple(conv.dilation), conv.deform_groups)
    if pad_h or pad_w:
        out = out[:, :, :out.shape[2] - pad_h, :out.shape[3] - pad_w]
    return out


class GuidedPost(nn.Module):
    """A Guided-Anchor RPN (mmdet 3.3's ``GARPNHead``) with its post-processing: per
    level, the location filter, the anchor shapes guided from the square anchors, the
    feature adaption (a deformable conv), the top ``nms_pre`` scores, decoding, size
    filter and NMS; then the best ``max_per_img`` proposals of all levels.

    Args:
        head: the ``GARPNHead`` (in eval mode: its location filter is on).
        cfg: its test config.
        squares: the square anchors of every level at the fixed input size.
    """

    def __init__(self, head, cfg, squares: Sequence[Tensor]):
        super().__init__()
        for coder, where in ((head.bbox_coder, 'its boxes'), (head.anchor_coder, 'its anchors')):
            _coder_check(coder, f'{type(head).__name__} ({where})')
        if head.num_base_priors != 1 or head.cls_out_channels != 1:
            raise UnsupportedDetector('the ONNX graph covers a Guided-Anchor RPN with one square anchor '
                                      'and a sigmoid objectness')
        if cfg.get('nms_across_levels', False) or int(cfg.get('nms_post', 1000)) < int(cfg['max_per_img']):
            raise UnsupportedDetector('the ONNX graph keeps the best max_per_img proposals after per-level '
                                      'NMS (no nms_across_levels, nms_post >= max_per_img)')
        self.head = head
        self.nms_pre = int(cfg.get('nms_pre', -1))
        self.min_size = float(cfg.get('min_bbox_size', -1))
        self.iou = float(cfg['nms']['iou_threshold'])
        self.max_per_img = int(cfg['max_per_img'])
        for i, p in enumerate(squares):
            self.register_buffer(f'squares{i}', p.clone(), persistent=False)
        self.levels = len(squares)

    def level(self, feat: Tensor, lvl: int, img_hw: Tensor) -> Tuple[Tensor, Tensor]:
        """(boxes, scores) of one level before NMS."""
        h = self.head
        x = torch.relu(h.rpn_conv(feat))
        loc, shape = h.conv_loc(x), h.conv_shape(x)
        adapt = h.feature_adaption
        x = torch.relu(_deform_conv(adapt.conv_adaption, x, adapt.conv_offset(shape)))
        # the masked convs, computed everywhere: the location filter drops the rest below
        cls = nn.functional.conv2d(x, h.conv_cls.weight, h.conv_cls.bias)
        reg = nn.functional.conv2d(x, h.conv_reg.weight, h.conv_reg.bias)
        keep = loc[0].sigmoid().reshape(-1) >= h.loc_filter_thr
        score = cls[0].reshape(-1).sigmoid()
        # top-k over the kept locations with k static: dropped ones rank below every kept one
        ranked = torch.where(keep, score, score.new_full((), -1.0))
        k = score.shape[0] if self.nms_pre <= 0 else min(self.nms_pre, score.shape[0])
        top, idx = ranked.topk(k)
        idx = idx[top >= 0]
        squares = getattr(self, f'squares{lvl}')[idx]
        shape_d = shape[0].permute(1, 2, 0).reshape(-1, 2)[idx]
        anchors = decode_deltas(squares, torch.cat([torch.zeros_like(shape_d), shape_d], 1), h.anchor_coder,
                                None, wh_ratio_clip=1e-6)  # as GuidedAnchorHead: no clipping
        deltas = reg[0].permute(1, 2, 0).reshape(-1, 4)[idx]
        return decode_deltas(anchors, deltas, h.bbox_coder, img_hw), score[idx]

    def forward(self, feats: Sequence[Tensor], img_hw: Tensor) -> Tuple[Tensor, Tensor, Tensor]:
        boxes, scores, groups = [], [], []
        for lvl in range(self.levels):
            b, sc = self.level(feats[lvl], lvl, img_hw)
            boxes.append(b)
            scores.append(sc)
            groups.append(torch.full_like(sc, lvl, dtype=torch.long))
        return _size_filter_and_nms(boxes, scores, groups, self.min_size, self.iou, self.max_per_img)


class RoIStage(nn.Module):
    """One R-CNN stage: multi-level RoIAlign, the shared head if any, the box head.

    Args:
        extractor: mmdet's ``SingleRoIExtractor``.
        bbox_head: the stage's box head.
        shared_head: the C4 res5 head, or None.
    """

    def __init__(self, extractor, bbox_head, shared_head=None):
        super().__init__()
        if type(extractor).__name__ != 'SingleRoIExtractor':
            raise UnsupportedDetector(f'{type(extractor).__name__} is not covered by the ONNX graph')
        self.layers = []
        for layer in extractor.roi_layers:
            if getattr(layer, 'pool_mode', 'avg') != 'avg':
                raise UnsupportedDetector('RoIAlign with max pooling has no ONNX equivalent here')
            self.layers.append((tuple(layer.output_size), float(layer.spatial_scale),
                                int(layer.sampling_ratio), bool(layer.aligned)))
        self.num_inputs = extractor.num_inputs
        self.finest_scale = float(extractor.finest_scale)
        self.shared_head = shared_head
        self.bbox_head = bbox_head

    def extract(self, feats: Sequence[Tensor], boxes: Tensor) -> Tensor:
        rois = torch.cat([boxes.new_zeros(boxes.shape[0], 1), boxes], dim=1)
        if len(self.layers) == 1:
            size, scale, ratio, aligned = self.layers[0]
            return roi_align(feats[0], rois, size, scale, ratio, aligned)
        area = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
        lvl = torch.floor(torch.log2(torch.sqrt(area) / self.finest_scale + 1e-6))
        lvl = lvl.clamp(min=0, max=len(self.layers) - 1).long()
        # Each RoI pooled on its level only; the pieces are put back in RoI order
        # by a gather (no scatter, which some runtimes lack).
        order, pieces = [], []
        for i, (size, scale, ratio, aligned) in enumerate(self.layers):
            inds = torch.nonzero(lvl == i).reshape(-1)
            order.append(inds)
            pieces.append(roi_align(feats[i], rois[inds], size, scale, ratio, aligned))
        return torch.cat(pieces)[torch.argsort(torch.cat(order))]

    def forward(self, feats: Sequence[Tensor], boxes: Tensor) -> Tuple[Tensor, Tensor]:
        x = self.extract(feats[:self.num_inputs], boxes)
        if self.shared_head is not None:
            x = self.shared_head(x)
        return self.bbox_head(x)


class RoIPost(nn.Module):
    """R-CNN post-processing (``BBoxHead.predict_by_feat`` + ``multiclass_nms``)."""

    def __init__(self, bbox_head, cfg):
        super().__init__()
        _coder_check(bbox_head.bbox_coder, 'the R-CNN head')
        if bbox_head.custom_cls_channels:
            raise UnsupportedDetector('an R-CNN head with a custom classification activation')
        self.coder = bbox_head.bbox_coder
        self.num_classes = bbox_head.num_classes
        self.agnostic = bbox_head.reg_class_agnostic
        self.score_thr = float(cfg['score_thr'])
        self.iou = float(cfg['nms']['iou_threshold'])
        self.max_per_img = int(cfg['max_per_img'])

    def forward(self, boxes: Tensor, cls_score: Tensor, bbox_pred: Tensor,
                img_hw: Tensor) -> Tuple[Tensor, Tensor, Tensor]:
        n, c = boxes.shape[0], self.num_classes
        scores = cls_score.softmax(-1)[:, :-1]
        dets = decode_deltas(boxes, bbox_pred, self.coder, img_hw).reshape(-1, bbox_pred.shape[1] // 4, 4)
        dets = dets.expand(n, c, 4) if self.agnostic else dets
        labels = torch.arange(c, device=boxes.device).expand(n, c).reshape(-1)
        dets, scores = dets.reshape(-1, 4), scores.reshape(-1)
        keep = scores > self.score_thr
        dets, scores, labels = dets[keep], scores[keep], labels[keep]
        keep = batched_nms(dets, scores, labels, self.iou)[:self.max_per_img]
        return dets[keep], scores[keep], labels[keep]


def _regress_by_class(head, boxes: Tensor, labels: Tensor, bbox_pred: Tensor, img_hw: Tensor) -> Tensor:
    """``BBoxHead.regress_by_class``: refine each box with its label's deltas."""
    if not head.reg_class_agnostic:
        idx = (labels * 4)[:, None] + torch.arange(4, device=labels.device)
        bbox_pred = torch.gather(bbox_pred, 1, idx)
    return decode_deltas(boxes, bbox_pred, head.bbox_coder, img_hw)


class DetectorGraph(nn.Module):
    """The whole detector for one ``(1, 3, H, W)`` image of a fixed size.

    Inputs: ``image``, float pixels in the colour order the dataset loads (BGR for
    mmdet's loaders), resized and padded to ``(H, W)`` with the data preprocessor's mean
    (so that padding is zero after normalisation, as mmdet pads); ``img_hw``, the
    ``(2,)`` int64 height and width of the resized image inside the padding (boxes are
    clipped to it). Outputs: ``boxes`` ``(n, 4)`` in input pixels, ``scores`` ``(n,)``,
    ``labels`` ``(n,)`` int64, sorted by decreasing score.

    Args:
        detector: a built mmdet ``RetinaNet``, ``FasterRCNN`` or ``CascadeRCNN`` (FPN or
            C4; RPN or Guided-Anchor RPN), in eval mode.
        input_hw: the fixed padded input size (height, width).

    Raises:
        UnsupportedDetector: a part the graph does not cover (other coders...).
    """

    def __init__(self, detector, input_hw: Tuple[int, int]):
        super().__init__()
        self.detector = detector
        self.input_hw = tuple(int(v) for v in input_hw)
        pre = detector.data_preprocessor
        self.register_buffer('mean', pre.mean.detach().clone().reshape(1, 3, 1, 1), persistent=False)
        self.register_buffer('std', pre.std.detach().clone().reshape(1, 3, 1, 1), persistent=False)
        self.flip = bool(getattr(pre, '_channel_conversion', False))
        with torch.no_grad():
            feats = detector.extract_feat(torch.zeros(1, 3, *self.input_hw))
        self.two_stage = hasattr(detector, 'roi_head')
        dense = detector.rpn_head if self.two_stage else detector.bbox_head
        cfg = detector.test_cfg.rpn if self.two_stage else detector.test_cfg
        self.guided = isinstance(dense, GARPNHead)
        if self.guided:
            gen = dense.square_anchor_generator
            squares = gen.grid_priors([f.shape[-2:] for f in feats[:gen.num_levels]], device=feats[0].device)
            self.dense_post = GuidedPost(dense, cfg, squares)
        elif type(dense).__name__ in ('RPNHead', 'RetinaHead'):
            sizes = [f.shape[-2:] for f in feats[:dense.prior_generator.num_levels]]
            priors = dense.prior_generator.grid_priors(sizes, device=feats[0].device)
            self.dense_post = DensePost(dense, cfg, priors, per_level_nms=self.two_stage)
        else:
            raise UnsupportedDetector(f'{type(dense).__name__} is not in the ONNX graph (RPN, Guided-Anchor '
                                      f'RPN and RetinaNet heads are)')
        #: the ONNX opset the graph needs: DeformConv is in opset 19
        self.opset = 19 if self.guided else 17
        if self.two_stage:
            roi = detector.roi_head
            shared = roi.shared_head if roi.with_shared_head else None
            if type(roi).__name__ == 'CascadeRoIHead':
                self.stages = nn.ModuleList(
                    RoIStage(e, h, shared) for e, h in zip(roi.bbox_roi_extractor, roi.bbox_head))
                last = roi.bbox_head[-1]
            elif type(roi).__name__ == 'StandardRoIHead':
                self.stages = nn.ModuleList([RoIStage(roi.bbox_roi_extractor, roi.bbox_head, shared)])
                last = roi.bbox_head
            else:
                raise UnsupportedDetector(f'{type(roi).__name__} is not covered by the ONNX graph')
            self.roi_post = RoIPost(last, detector.test_cfg.rcnn)

    def forward(self, image: Tensor, img_hw: Tensor) -> Tuple[Tensor, Tensor, Tensor]:
        x = image[:, [2, 1, 0]] if self.flip else image
        x = (x - self.mean) / self.std
        feats = self.detector.extract_feat(x)
        if self.guided:
            boxes, scores, labels = self.dense_post(feats, img_hw)
        else:
            dense = self.detector.rpn_head if self.two_stage else self.detector.bbox_head
            cls_scores, bbox_preds = dense(feats)
            boxes, scores, labels = self.dense_post(cls_scores, bbox_preds, img_hw)
        if not self.two_stage:
            return boxes, scores, labels
        logits = []
        for i, stage in enumerate(self.stages):
            cls_score, bbox_pred = stage(feats, boxes)
            logits.append(cls_score)
            if i < len(self.stages) - 1:
                label = cls_score[:, :-1].argmax(dim=1)
                boxes = _regress_by_class(stage.bbox_head, boxes, label, bbox_pred, img_hw)
        cls_score = logits[0] if len(logits) == 1 else sum(logits) / float(len(logits))
        return self.roi_post(boxes, cls_score, bbox_pred, img_hw)


def padded_input_hw(scale_wh: Sequence[int], divisor: int = 32) -> Tuple[int, int]:
    """The fixed graph input (height, width) for a test ``Resize`` to ``scale_wh``
    (w, h) with ``keep_ratio``, padded to ``divisor`` as mmdet's data preprocessor pads."""
    w, h = int(scale_wh[0]), int(scale_wh[1])
    return int(math.ceil(h / divisor) * divisor), int(math.ceil(w / divisor) * divisor)
