"""The pieces every report is written with: CSV rows, Markdown tables, number cells,
the per-architecture duplicate count of a study, and the finalists table shared by the
subnet search's report and the pipeline's."""
import csv
import io
from pathlib import Path
from typing import Dict, Iterable, List, Sequence

from ..records import Finalist
from ..utils import atomic_write_text


def cell(value, spec: str = '') -> str:
    """``value`` formatted with ``spec``; empty for None or ''."""
    return '' if value is None or value == '' else format(value, spec)


def markdown_table(headers: Sequence[str], rows: Iterable[Sequence[object]]) -> List[str]:
    """The lines of a Markdown table (cells already formatted)."""
    lines = ['| ' + ' | '.join(headers) + ' |', '|' + '---|' * len(headers)]
    lines += ['| ' + ' | '.join(str(c) for c in row) + ' |' for row in rows]
    return lines


def write_csv(path, rows: List[Dict[str, object]], columns: Sequence[str]) -> Path:
    """Write ``rows`` (dicts) to ``path`` atomically, one column per key of ``columns``."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(columns))
    writer.writeheader()
    writer.writerows(rows)
    atomic_write_text(path, buf.getvalue())
    return Path(path)


def duplicate_counts(study) -> Dict[str, int]:
    """How often each architecture was proposed again (repeats are pruned, not re-evaluated)."""
    dup: Dict[str, int] = {}
    for t in study.get_trials(deepcopy=False):
        if 'duplicate_of' in t.user_attrs:
            dup[t.user_attrs['arch']] = dup.get(t.user_attrs['arch'], 0) + 1
    return dup


def _onnx_cell(f: Finalist) -> str:
    if f.onnx_error:
        return f'export failed: {f.onnx_error[:80]}'
    if f.onnx_latency_ms is None:
        return ''
    return f'{f.onnx_latency_ms:.1f} / {f.torch_graph_latency_ms:.1f}'


def finalists_table(records: List[Finalist]) -> List[str]:
    """The finalists E0-E5: params, GFLOPs, latency (mmdet's PyTorch test step, and the
    ONNX export under onnxruntime next to the same graph in PyTorch), mAP with inherited
    weights and after retraining from scratch (with the cause when a retraining failed),
    and the exported config.

    Args:
        records: finalist records (:mod:`smnas.modular.finalists`).

    Returns:
        The table's lines.
    """
    rows = []
    for f in records:
        failed = f' (failed: {f.error})' if f.error else ''
        se = f' ± {f.mAP_se_retrained:.4f}' if f.mAP_se_retrained is not None else ''
        ci = f.mAP_ci95_retrained
        rows.append([f.name, f'`{f.arch}`', cell(f.params, '.2f'), cell(f.gflops, '.3f'),
                     cell(f.latency_ms, '.1f'), _onnx_cell(f), cell(f.mAP_inherited, '.4f'),
                     cell(f.mAP_retrained, '.4f') + se + failed, f'{ci[0]:.4f}-{ci[1]:.4f}' if ci else '',
                     cell(f.mAP_50_retrained, '.4f'), f'`{f.config}`'])
    return markdown_table(['model', 'subnet', 'params (M)', 'GFLOPs', 'latency (ms)',
                           'ONNX / PyTorch graph (ms)', 'mAP inherited',
                           'mAP retrained ± SE', '95% interval', 'mAP@0.5 retrained', 'config'], rows)


def noise_lines(records: List[Finalist], resamples: int = 200) -> List[str]:
    """What the retrained scores can and cannot tell: each finalist against the next
    cheaper one, a paired bootstrap over the val images both were scored on
    (:mod:`smnas.evaluation.bootstrap`), one sentence each.

    Args:
        records: finalist records; those retrained with kept detections are compared.
        resamples: bootstrap resamples.

    Returns:
        The lines (none when fewer than two finalists have detections).
    """
    from mmengine.config import Config

    from ..evaluation.bootstrap import ImageBootstrap, noise_sentence

    done = [f for f in records if f.retrained and f.detections and Path(f.detections).is_file()
            and f.retrain_dir and (Path(f.retrain_dir) / 'config.py').is_file()]
    done.sort(key=lambda f: (f.gflops if f.gflops is not None else f.gflops_thop or 0.0))
    if len(done) < 2:
        return []
    ann_file = Config.fromfile(str(Path(done[0].retrain_dir) / 'config.py')).test_evaluator.ann_file
    boot = ImageBootstrap(ann_file)
    lines = ['Noise: mAP ± its standard error from a bootstrap over the val images (one training each; '
             'another seed adds training noise on top). Each finalist against the next cheaper one:', '']
    for cheap, dear in zip(done, done[1:]):
        cmp = boot.compare(dear.detections, cheap.detections, n=resamples)
        lines.append('- ' + noise_sentence(dear.name, cheap.name, cmp))
    return lines
