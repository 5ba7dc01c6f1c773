"""Cost helpers for any mmdet detector: a detector's whole tensor path with a fixed
proposal budget (what FLOPs are counted over) and a dummy pre-processed batch.

Plain functions on torch, mmdet and mmengine, shared by the FLOPs table here and by
the thop counts and latency measurements of the layer above.
"""
from typing import Optional, Tuple

import torch
from torch import nn


def dummy_batch(input_size: Tuple[int, int], device: torch.device) -> dict:
    """One raw (not pre-processed) batch of a seeded random uint8 image of ``input_size``
    (w, h) on ``device``, with its image metas."""
    from mmdet.structures import DetDataSample

    w, h = input_size
    g = torch.Generator().manual_seed(0)
    img = torch.randint(0, 256, (3, h, w), dtype=torch.uint8, generator=g).to(device)
    sample = DetDataSample(metainfo=dict(img_shape=(h, w), ori_shape=(h, w), scale_factor=(1.0, 1.0),
                                         pad_shape=(h, w), batch_input_shape=(h, w)))
    return dict(inputs=[img], data_samples=[sample])


def fixed_proposals(num: int, img_shape: Tuple[int, int], device: torch.device):
    """``num`` deterministic boxes spread over an image of ``img_shape`` (h, w), of sizes
    from 8 pixels to half the image, as an ``InstanceData`` of proposals."""
    from mmengine.structures import InstanceData

    h, w = img_shape
    g = torch.Generator().manual_seed(0)
    size = torch.exp(torch.empty(num, 2).uniform_(0, 1, generator=g) *
                     torch.log(torch.tensor([max(w / 2, 9.0), max(h / 2, 9.0)]) / 8)) * 8
    centre = torch.rand(num, 2, generator=g) * torch.tensor([w, h], dtype=torch.float)
    boxes = torch.cat([centre - size / 2, centre + size / 2], 1)
    boxes[:, 0::2] = boxes[:, 0::2].clamp(0, w)
    boxes[:, 1::2] = boxes[:, 1::2].clamp(0, h)
    return InstanceData(bboxes=boxes.to(device), scores=torch.ones(num, device=device),
                        labels=torch.zeros(num, dtype=torch.long, device=device))


def num_test_rois(detector: nn.Module) -> int:
    """Proposals per image a two-stage detector's box head sees at test time
    (``test_cfg.rpn.max_per_img``, the usual budget); 0 for one-stage detectors."""
    if not hasattr(detector, 'roi_head'):
        return 0
    rpn = (detector.test_cfg or {}).get('rpn') or {}
    return int(rpn.get('max_per_img', 1000))


class TensorForward(nn.Module):
    """A detector's whole tensor path as ``forward(images)``: backbone, neck, dense
    heads and, for two-stage detectors, the RoI head(s) on a fixed number of proposals.

    The RPN's own proposals depend on the input and the weights (its NMS keeps a
    varying number), which would make FLOPs vary from run to run; a fixed count of
    ``num_rois`` per image (default: the test-time budget) makes them a property of
    the architecture and the input size.

    Args:
        detector: an mmdet detector.
        data_samples: the samples of the batch (image metas).
        num_rois: proposals per image (two-stage detectors).
    """

    def __init__(self, detector: nn.Module, data_samples, num_rois: Optional[int] = None):
        super().__init__()
        self.detector = detector
        self.data_samples = data_samples
        self.num_rois = num_test_rois(detector) if num_rois is None else num_rois

    def forward(self, images):
        det = self.detector
        x = det.extract_feat(images)
        if not hasattr(det, 'roi_head'):
            return det.bbox_head(x)
        outs = det.rpn_head(x) if getattr(det, 'with_rpn', False) else ()
        proposals = [fixed_proposals(self.num_rois, s.metainfo['img_shape'], images.device)
                     for s in self.data_samples]
        return outs, det.roi_head.forward(x, proposals, self.data_samples)


def dummy_inputs(model: nn.Module, input_size: Tuple[int, int]) -> dict:
    """A pre-processed batch of one random image of ``input_size`` (w, h) for ``model``."""
    device = next(model.parameters()).device
    return model.data_preprocessor(dummy_batch(input_size, device), False)
