"""Deployment: a trained detector as one ONNX graph with its post-processing
(:mod:`.graph`), exported and checked against PyTorch (:mod:`.onnx`), and run with
onnxruntime alone (:mod:`.runtime`)."""
from .graph import DetectorGraph, UnsupportedDetector
from .runtime import OnnxDetector

__all__ = ['DetectorGraph', 'OnnxDetector', 'UnsupportedDetector']
