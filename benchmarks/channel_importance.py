"""Is a trained supernet's channel order already an importance order? (Would sorting channels help?)

Channel sorting (as in Once-for-All) reorders each layer's channels by importance, so that
a narrow subnet, which takes the leading channels, gets the important ones. This script
measures how far a trained supernet's order already is one: for every GroupNorm of the
backbone and neck, the importance of a channel is the magnitude of its GN scale (as in
network slimming; with Weight Standardization a filter's own norm is fixed, so the scale
is what sets a channel's weight), compared between the leading and the trailing half.

    python benchmarks/channel_importance.py benchmarks/runs/rank_bccd/supernet/iter_600.pth \
        --json benchmarks/results_channel_importance_bccd.json

Reads the checkpoint only; trains and evaluates nothing.
"""
import argparse
import statistics
from pathlib import Path

import torch

from smnas.engine import load_local_checkpoint
from smnas.utils import atomic_write_json, collect_env_versions


def gn_scales(state_dict: dict, prefixes=('backbone', 'neck')) -> dict:
    """The GroupNorm scales (1-D ``...weight`` of a GN) of the given parts, by name.

    Args:
        state_dict: a supernet checkpoint's ``state_dict``.
        prefixes: parts of the model whose norms are read (matched anywhere in the name).

    Returns:
        ``{name: 1-D tensor}`` for every norm weight under those parts with at least
        two channels (conv and linear weights are not 1-D and are skipped).
    """
    out = {}
    for name, value in state_dict.items():
        if (name.endswith('.weight') and value.ndim == 1 and value.numel() >= 2
                and any(f'{p}.' in name for p in prefixes)):
            out[name[:-len('.weight')]] = value.detach().float()
    return out


def leading_share(scale: torch.Tensor) -> dict:
    """How much of one norm's importance sits in its leading half of channels.

    Args:
        scale: a norm's per-channel scales.

    Returns:
        ``channels``; ``leading_mean`` and ``trailing_mean`` of the scales' magnitudes,
        and their ``min`` and ``max``;
        ``top_in_leading``: the share of the most important half that lies in the leading
        half (1.0: the order already is an importance order, 0.5: no relation; ``None``
        when every scale is equal, so that no order exists to sort by).
    """
    mag = scale.abs()
    n = mag.numel()
    half = n // 2
    top = None
    if float(mag.max() - mag.min()) > 0:
        top = float((torch.argsort(mag, descending=True, stable=True)[:half] < half).float().mean())
    return dict(channels=n, leading_mean=float(mag[:half].mean()), trailing_mean=float(mag[half:].mean()),
                min=float(mag.min()), max=float(mag.max()), top_in_leading=top)


def summarize(rows: dict) -> dict:
    """Means over the norms that have an order, for residual-branch ends (``gn2``) and the rest.

    Args:
        rows: ``{name: leading_share(...)}``.

    Returns:
        ``{group: {norms, top_in_leading, leading_over_trailing, range}}`` for the groups
        that occur; ``range``: the smallest and largest scale magnitude in the group.
    """
    groups = {}
    for name, r in rows.items():
        if r['top_in_leading'] is None:
            continue
        group = 'residual branch ends (gn2)' if name.endswith('gn2') else 'other norms'
        groups.setdefault(group, []).append(r)
    return {g: dict(norms=len(rs), top_in_leading=statistics.fmean(r['top_in_leading'] for r in rs),
                    leading_over_trailing=statistics.fmean(r['leading_mean'] / r['trailing_mean']
                                                           for r in rs if r['trailing_mean'] > 0),
                    range=[min(r['min'] for r in rs), max(r['max'] for r in rs)])
            for g, rs in groups.items()}


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('checkpoint', help='a supernet checkpoint (tools/train_supernet.py writes them)')
    p.add_argument('--json', help='write the per-norm results and the summary here')
    args = p.parse_args()
    path = Path(args.checkpoint)
    try:
        ckpt = load_local_checkpoint(str(path), map_location='cpu')
    except FileNotFoundError as e:
        raise SystemExit(str(e)) from None
    rows = {name: leading_share(s) for name, s in gn_scales(ckpt.get('state_dict', ckpt)).items()}
    if not rows:
        raise SystemExit(f'{path} has no backbone or neck norms')
    for name, r in rows.items():
        top = '-' if r['top_in_leading'] is None else f'{r["top_in_leading"]:.2f}'
        print(f'{name:60s} {r["channels"]:4d} |scale| leading {r["leading_mean"]:.4f} trailing '
              f'{r["trailing_mean"]:.4f}; top half in leading half: {top}')
    summary = summarize(rows)
    for group, s in summary.items():
        print(f'{group}: {s["norms"]} norms; the most important half lies {s["top_in_leading"]:.0%} in the '
              f'leading half; leading/trailing |scale| {s["leading_over_trailing"]:.2f}; |scale| '
              f'{s["range"][0]:.4f}-{s["range"][1]:.4f}')
    if args.json:
        atomic_write_json(args.json, dict(checkpoint=str(path), iteration=ckpt.get('meta', {}).get('iter'),
                                          summary=summary, norms=rows, versions=collect_env_versions()),
                          indent=1)


if __name__ == '__main__':
    main()
