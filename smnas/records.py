"""Typed records the searches, retraining, reports and benchmarks exchange: what one
evaluated architecture produced (:class:`TrialResult`, stored as ``result.json``), and
a finalist of the modular stage (:class:`Finalist`, stored in ``finalists.json``).

Both are plain dataclasses with a JSON form that older files still read into: keys a
record does not know are kept aside and written back unchanged.
"""
from dataclasses import asdict, dataclass, field, fields
from typing import Any, Dict, List, Optional


def _split(cls, d: dict):
    names = {f.name for f in fields(cls)} - {'extra'}
    return {k: v for k, v in d.items() if k in names}, {k: v for k, v in d.items() if k not in names}


def _to_dict(record, keep_unset: bool) -> dict:
    out = {k: v for k, v in asdict(record).items() if k != 'extra' and (keep_unset or v is not None)}
    out.update(record.extra)
    return out


@dataclass
class TrialResult:
    """One evaluated architecture: trained and measured (a structural candidate, a
    retrained finalist, a from-scratch ground truth) or scored with inherited weights
    (a subnet).

    Attributes:
        arch: the architecture string.
        mAP, mAP_50: val bbox mAP and mAP@0.5 (None for a subnet ranked by its val loss
            whose mAP is left to the end of the search: ``subnet_search.map_of``).
        input_size: (w, h) it was evaluated at.
        flops, params: multiply-adds and parameters of the whole detector.
        latency_ms, latency_mean_ms, latency_std_ms, repeats, device: measured latency
            (batch 1, median of ``repeats`` runs) and where.
        train_seconds, iters: training time and schedule length.
        eval_seconds: time to score it with inherited weights.
        eval_images: val images its mAP was scored on (a screened-out subnet: the subset's).
        mAP_screen: its mAP on the search's screening subset of the val images.
        val_loss, val_loss_screen: the detector's training loss on the val images (on
            the screening subset), the score of a search that ranks by it.
        val_loss_terms: each term of ``val_loss`` (``loss_rpn_cls``, ``loss_cls``...).
        box_blend: ``mAP - scale * val_loss``, the score of a search that ranks by the
            blend of the two (``subnet_search.score='box_blend'``; the scale in its
            ``box_blend.json``).
        mAP_se, mAP_ci95: the mAP's noise, a bootstrap over the images it was scored on
            (:mod:`smnas.evaluation.bootstrap`): standard error and 95% interval.
        detections: the COCO-format detections its mAP was computed from (for paired
            comparisons with another model on the same images).
        metrics: every metric of the evaluator.
        member_scores: a subnet scored by an ensemble of supernets: its scores with each
            supernet's weights (the scores above are their mean).
        versions: library versions of the process that produced it.
        extra: keys of the stored file this record does not know.
    """
    arch: str
    input_size: List[int]
    mAP: Optional[float] = None
    mAP_50: Optional[float] = None
    flops: Optional[float] = None
    params: Optional[float] = None
    latency_ms: Optional[float] = None
    latency_mean_ms: Optional[float] = None
    latency_std_ms: Optional[float] = None
    repeats: Optional[int] = None
    device: Optional[str] = None
    train_seconds: Optional[float] = None
    iters: Optional[int] = None
    eval_seconds: Optional[float] = None
    eval_images: Optional[int] = None
    mAP_screen: Optional[float] = None
    val_loss: Optional[float] = None
    val_loss_screen: Optional[float] = None
    val_loss_terms: Optional[Dict[str, float]] = None
    box_blend: Optional[float] = None
    mAP_se: Optional[float] = None
    mAP_ci95: Optional[List[float]] = None
    detections: Optional[str] = None
    metrics: Optional[Dict[str, float]] = None
    member_scores: Optional[List[Dict[str, Any]]] = None
    versions: Optional[Dict[str, str]] = None
    extra: Dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict:
        """The JSON form (``status='ok'``; unset fields left out)."""
        return dict(status='ok', **_to_dict(self, keep_unset=False))

    @classmethod
    def from_dict(cls, d: dict) -> 'TrialResult':
        """A result from its JSON dict; keys this version does not know are kept in ``extra``."""
        known, extra = _split(cls, {k: v for k, v in d.items() if k != 'status'})
        return cls(**known, extra=extra)


@dataclass
class Finalist:
    """A finalist E0-E5 of the modular stage: where it came from, and once retrained
    from scratch, how it did.

    Attributes:
        name: ``E0``...
        arch: the subnet string.
        config: its exported plain mmdet config.
        input_size: (w, h) of the search (and of its retraining's scoring).
        gflops: table FLOPs at the search input (None when chosen without a search).
        mAP_inherited, mAP_50_inherited: scores with inherited weights (None likewise).
        checkpoint: the inherited weights (None when exported without a supernet).
        mAP_retrained, mAP_50_retrained, params, latency_ms, device, gflops_thop,
        train_seconds, retrain_dir, retrain_overrides, retrain_iters: the retraining's
            results (params in millions) and how it was trained.
        mAP_se_retrained, mAP_ci95_retrained, detections: the retrained mAP's noise (a
            bootstrap over the val images) and the detections it was computed from.
        error: why its retraining failed.
        onnx: the ONNX export folder of the retrained model (``model.onnx``,
            ``deploy.json``); onnx_latency_ms, torch_graph_latency_ms: the same graph's
            batch-1 latency under onnxruntime and PyTorch, side by side; onnx_check: the
            export against PyTorch on val images (:func:`smnas.deploy.onnx.check_against_pytorch`);
            onnx_error: why the export failed (the retraining is kept).
        extra: keys of the stored file this record does not know.
    """
    name: str
    arch: str
    config: str
    input_size: List[int]
    gflops: Optional[float] = None
    mAP_inherited: Optional[float] = None
    mAP_50_inherited: Optional[float] = None
    checkpoint: Optional[str] = None
    mAP_retrained: Optional[float] = None
    mAP_50_retrained: Optional[float] = None
    params: Optional[float] = None
    latency_ms: Optional[float] = None
    device: Optional[str] = None
    gflops_thop: Optional[float] = None
    train_seconds: Optional[float] = None
    retrain_dir: Optional[str] = None
    retrain_overrides: Optional[Dict[str, Any]] = None
    retrain_iters: Optional[int] = None
    mAP_se_retrained: Optional[float] = None
    mAP_ci95_retrained: Optional[List[float]] = None
    detections: Optional[str] = None
    error: Optional[str] = None
    onnx: Optional[str] = None
    onnx_latency_ms: Optional[float] = None
    torch_graph_latency_ms: Optional[float] = None
    onnx_check: Optional[Dict[str, Any]] = None
    onnx_error: Optional[str] = None
    extra: Dict[str, Any] = field(default_factory=dict)

    @property
    def retrained(self) -> bool:
        """Whether a from-scratch retraining of this finalist has finished."""
        return self.mAP_retrained is not None

    def record_retraining(self, result: TrialResult, run_dir: str, overrides: Optional[dict],
                          iters: Optional[int]) -> None:
        """Take a retraining's result (clearing an earlier failure)."""
        self.error = None
        self.mAP_retrained, self.mAP_50_retrained = result.mAP, result.mAP_50
        self.mAP_se_retrained, self.mAP_ci95_retrained = result.mAP_se, result.mAP_ci95
        self.detections = result.detections
        self.params = result.params / 1e6
        self.latency_ms, self.device = result.latency_ms, result.device
        self.gflops_thop = result.flops / 1e9
        self.train_seconds, self.retrain_dir = result.train_seconds, str(run_dir)
        # how it was trained, so that comparisons train the same way
        self.retrain_overrides, self.retrain_iters = dict(overrides or {}), iters

    def to_dict(self) -> dict:
        """The JSON form (every field, unset ones as null, as finalists.json has always
        been written)."""
        return _to_dict(self, keep_unset=True)

    @classmethod
    def from_dict(cls, d: dict) -> 'Finalist':
        """A finalist from its JSON dict; keys this version does not know are kept in ``extra``."""
        known, extra = _split(cls, d)
        return cls(**known, extra=extra)
