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


def finalists_table(records: List[Finalist]) -> List[str]:
    """The finalists E0-E5: params, GFLOPs, latency, mAP with inherited weights and after
    retraining from scratch (with the cause when a retraining failed), and the exported
    config.

    Args:
        records: finalist records (:mod:`smnas.modular.finalists`).

    Returns:
        The table's lines.
    """
    rows = []
    for f in records:
        failed = f' (failed: {f.error})' if f.error else ''
        rows.append([f.name, f'`{f.arch}`', cell(f.params, '.2f'), cell(f.gflops, '.3f'),
                     cell(f.latency_ms, '.1f'), cell(f.mAP_inherited, '.4f'),
                     cell(f.mAP_retrained, '.4f') + failed, cell(f.mAP_50_retrained, '.4f'), f'`{f.config}`'])
    return markdown_table(['model', 'subnet', 'params (M)', 'GFLOPs', 'latency (ms)', 'mAP inherited',
                           'mAP retrained', 'mAP@0.5 retrained', 'config'], rows)
