"""mmcv's CPU kernels against torchvision's for NMS and RoIAlign, alone and inside a
whole detector, measured side by side in one run (interleaved repeats, medians).

smnas sends CPU NMS and RoIAlign to torchvision (``smnas/ops/torchvision_fallbacks.py``)
because this benchmark finds them faster with equal results; ``SMNAS_MMCV_CPU_OPS=1``
turns the route off. Each op's outputs (and RoIAlign's input gradient) are compared
too, so the ratio is between equal computations.

    python benchmarks/bench_cpu_ops.py --json benchmarks/results/cpu_ops.json
    python benchmarks/bench_cpu_ops.py --repeats 3 --structure r18_fpn-p2p5-p6_rpn_cascade3_800x600
"""
import argparse
import statistics
import time

import torch


def _timed(fn, repeats: int):
    fn()
    out = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t0) * 1000)
    return out


def side_by_side(fns: dict, repeats: int) -> dict:
    """Median ms of each function, their repeats interleaved so drift hits all alike."""
    times = {k: [] for k in fns}
    for _ in range(repeats):
        for k, fn in fns.items():
            times[k] += _timed(fn, 1)
    return {k: statistics.median(v) for k, v in times.items()}


def main():
    from smnas.ops import torchvision_fallbacks as tvf
    import smnas.register  # noqa: F401  installs the dispatchers
    from mmcv.ops import nms, roi_align
    from smnas.testing import build_detector, demo_batch
    from smnas.structural.builder import build_model_cfg
    from smnas.structural.space import Candidate
    from smnas.utils import atomic_write_json, collect_env_versions

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--repeats', type=int, default=7)
    p.add_argument('--threads', type=int, default=2)
    p.add_argument('--structure', default='r18_fpn-p2p5-p6_rpn_rcnn_800x600')
    p.add_argument('--size', type=int, nargs=2, default=(160, 128), metavar=('W', 'H'))
    p.add_argument('--json')
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    g = torch.Generator().manual_seed(0)

    def routed(fn, tv: bool):
        def run():
            if tv:
                with tvf.forced('cpu'):
                    return fn()
            with tvf.mmcv_kernels():
                return fn()
        return run

    rows = {}

    def both(fn):
        return side_by_side({'mmcv': routed(fn, False), 'torchvision': routed(fn, True)}, args.repeats)
    # RoIAlign: 1000 RoIs on a stride-4 map of a 160x128 image, 256 channels (an FPN level)
    feat = torch.randn(2, 256, 32, 40, generator=g, requires_grad=True)
    xy = torch.rand(1000, 2, generator=g) * 120
    rois = torch.cat([torch.randint(0, 2, (1000, 1), generator=g).float(), xy,
                      xy + torch.rand(1000, 2, generator=g) * 60 + 4], 1)

    def ra():
        return roi_align(feat, rois, (7, 7), 0.25, 0, 'avg', True)

    def ra_bwd():
        feat.grad = None
        ra().pow(2).sum().backward()
        return feat.grad.clone()

    eq = {}
    for name, fn in (('roi_align_forward', ra), ('roi_align_forward_backward', ra_bwd)):
        with torch.no_grad() if name == 'roi_align_forward' else torch.enable_grad():
            a, b = routed(fn, False)(), routed(fn, True)()
            eq[name] = float((a - b).abs().max())
            rows[name] = both(fn)
    # NMS over 6000 proposals (an RPN's pre-NMS count)
    bx = torch.rand(6000, 2, generator=g) * 150
    boxes = torch.cat([bx, bx + torch.rand(6000, 2, generator=g) * 40 + 2], 1)
    scores = torch.rand(6000, generator=g)

    def run_nms():
        return nms(boxes, scores, 0.7)[1]
    eq['nms'] = float(routed(run_nms, False)().tolist() != routed(run_nms, True)().tolist())
    rows['nms'] = both(run_nms)

    # the whole detector: a training step and a test step
    m = build_model_cfg(Candidate.parse(args.structure), 3)
    model = build_detector(m)
    batch = demo_batch(2, (args.size[1], args.size[0]), 3)
    opt = torch.optim.SGD(model.parameters(), lr=1e-4)

    def train_step():
        model.train()
        loss, _ = model.parse_losses(model(**model.data_preprocessor(batch, True), mode='loss'))
        opt.zero_grad()
        loss.backward()

    def test_step():
        model.eval()
        with torch.no_grad():
            model.test_step(batch)
    for name, fn in (('detector_train_step', train_step), ('detector_test_step', test_step)):
        rows[name] = both(fn)

    print(f'{"":28s} {"mmcv ms":>9s} {"torchvision ms":>15s} {"speed-up":>9s}')
    for name, r in rows.items():
        r['speedup'] = r['mmcv'] / r['torchvision']
        print(f'{name:28s} {r["mmcv"]:9.1f} {r["torchvision"]:15.1f} {r["speedup"]:8.2f}x')
    print('largest difference between the kernels:', eq)
    if args.json:
        atomic_write_json(args.json, dict(
            command='python benchmarks/bench_cpu_ops.py ' + ' '.join(
                f'--{k.replace("_", "-")} {v if not isinstance(v, (list, tuple)) else " ".join(map(str, v))}'
                for k, v in vars(args).items() if v is not None and k != 'json'),
            threads=args.threads, repeats=args.repeats, structure=args.structure, size=list(args.size),
            median_ms=rows, max_abs_difference=eq, versions=collect_env_versions()), indent=1)


if __name__ == '__main__':
    main()
