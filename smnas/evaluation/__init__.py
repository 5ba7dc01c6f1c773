"""Measuring detectors: latency on the device, FLOPs and parameters with thop."""
from .measure import count_flops_params, device_name, fold_weight_standardization, measure_latency

__all__ = ['count_flops_params', 'device_name', 'fold_weight_standardization', 'measure_latency']
