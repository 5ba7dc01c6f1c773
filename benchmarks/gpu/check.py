"""The GPU check: does smnas run on this device, and how fast? One JSON of results.

Run by ``benchmarks/gpu/check.sh`` on a bare GPU machine (after installing from carried
wheels), or directly where smnas is installed (``--device cpu`` checks this script's
own path on a CPU machine). Each step is timed and stored as it finishes, so a run
stopped at its time limit still reports what it did:

1. the install check (``smnas.verify``) and the torchvision route of mmcv's ops: on CUDA,
   NMS and RoIAlign against the same ops on the CPU;
2. a supernet sandwich step against the static steps of its members
   (``bench_supernet_step.bench_step``);
3. inherited-weight scoring time per subnet (an untrained supernet: the time, not the mAP);
4. one finalist retrained from scratch for a short schedule, in its own process;
5. batch-1 latency of the min and max subnets' static models.

    python benchmarks/gpu/check.py --device cuda --out $OUT/gpu_check.json
    python benchmarks/gpu/check.py --device cpu --quick --out /tmp/gpu_check.json
"""
import argparse
import importlib.util
import sys
import time
import traceback
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[2]


def _bench(name: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / 'benchmarks' / f'{name}.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def step_install(device: str, quick: bool) -> dict:
    from smnas import verify
    from smnas.ops import mmcv_has_cuda_ops, use_torchvision

    rc = verify.main()
    out = dict(verify_exit_code=rc, mmcv_cuda_ops=mmcv_has_cuda_ops(), torch=torch.__version__,
               device_name=torch.cuda.get_device_name(0) if device == 'cuda' else 'cpu')
    if device == 'cuda':
        from mmcv.ops import RoIAlign, nms

        g = torch.Generator().manual_seed(0)
        xy = torch.rand(300, 2, generator=g) * 100
        boxes = torch.cat([xy, xy + torch.rand(300, 2, generator=g) * 40 + 2], 1)
        scores = torch.rand(300, generator=g)
        feat = torch.randn(2, 16, 32, 32, generator=g)
        rois = torch.cat([torch.randint(0, 2, (50, 1), generator=g).float(), boxes[:50] * 0.3], 1)
        op = RoIAlign((7, 7), spatial_scale=0.25)
        out.update(torchvision_route=use_torchvision(boxes.cuda()),
                   nms_equal=nms(boxes.cuda(), scores.cuda(), 0.5)[1].cpu().tolist()
                   == nms(boxes, scores, 0.5)[1].tolist(),
                   roi_align_max_diff=float((op(feat.cuda(), rois.cuda()).cpu()
                                             - op(feat, rois)).abs().max()))
    return out


def step_sandwich(device: str, quick: bool) -> dict:
    bench = _bench('bench_supernet_step')
    return bench.bench_step(128 if quick else 512, 2 if quick else 10, 2, device)


def _supernet(root: Path, device: str, quick: bool):
    """The quickstart supernet config on generated data, an untrained checkpoint."""
    from smnas.data.prepare import prepare_data
    from smnas.engine import read_config
    from smnas.testing import build_detector

    cfg = read_config(str(ROOT / 'configs/supernet/quickstart_synthetic.py'))
    data = root / 'data'
    prepare_data(dict(cfg.prepare_data, out=str(data), num_train=16, num_val=16 if quick else 64))
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[loader].dataset.data_root = f'{data}/'
        cfg[loader].num_workers = 0
        cfg[loader].persistent_workers = False
    cfg.val_evaluator.ann_file = f'{data}/annotations/instances_val.json'
    cfg.test_evaluator = cfg.val_evaluator
    cfg.prepare_data = None
    torch.manual_seed(0)
    model = build_detector(cfg.model)
    ckpt = root / 'supernet.pth'
    torch.save(dict(state_dict=model.state_dict(), meta=dict(supernet_space=dict(cfg.model.space))), ckpt)
    return cfg, str(ckpt)


def step_scoring(device: str, quick: bool, root: Path) -> dict:
    import random

    from smnas.evaluation.inherited import InheritedEvaluator

    cfg, ckpt = _supernet(root, device, quick)
    ev = InheritedEvaluator(cfg, ckpt, str(root / 'eval'), batch_size=8)
    ev.model.to(device)
    rng = random.Random(0)
    subnets = [ev.space.min_subnet(), ev.space.max_subnet()]
    subnets += [ev.space.sample(rng) for _ in range(2 if quick else 6)]
    ev.evaluate(subnets[0])  # warm-up
    times = []
    for s in subnets:
        t0 = time.perf_counter()
        ev.evaluate(s)
        times.append(time.perf_counter() - t0)
    return dict(images=ev.num_images, batch=8, seconds_per_subnet=times,
                mean_seconds_per_subnet=sum(times) / len(times),
                per_image_ms=1000 * sum(times) / len(times) / ev.num_images)


def step_retrain(device: str, quick: bool, root: Path) -> dict:
    from smnas.modular.finalists import finalists_from_subnets, retrain_finalists

    cfg, _ = _supernet(root, device, quick)
    finalists_from_subnets(cfg, [_max(cfg)], str(root / 'retrain'))
    t0 = time.perf_counter()
    records = retrain_finalists(str(root / 'retrain'), {'train_dataloader.batch_size': 4},
                                max_iters=10 if quick else 100)
    r = records[0]
    return dict(arch=r.arch, iters=10 if quick else 100, seconds=time.perf_counter() - t0, error=r.error,
                mAP=r.mAP_retrained, latency_ms=r.latency_ms, device=r.device)


def _max(cfg) -> str:
    from supernet.space import ModularSpace

    return str(ModularSpace.from_dict(dict(cfg.model.space)).max_subnet())


def step_latency(device: str, quick: bool, root: Path) -> dict:
    from smnas.evaluation import measure_latency
    from smnas.testing import build_detector
    from supernet.export import export_subnet

    cfg, _ = _supernet(root, device, quick)
    torch.manual_seed(0)
    model = build_detector(cfg.model)
    out = {}
    for name in ('min', 'max'):
        sub = getattr(model.space, f'{name}_subnet')()
        scfg, sd = export_subnet(model.architecture_cfg, model.architecture.state_dict(), sub)
        static = build_detector(scfg)
        static.load_state_dict(sd)
        for size in ((160, 120), (800, 608)):
            lat = measure_latency(static.to(device), size, warmup=2 if quick else 10,
                                  repeats=3 if quick else 30, device=torch.device(device))
            out[f'{name}_{size[0]}x{size[1]}'] = dict(subnet=str(sub), **lat)
    return out


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    p.add_argument('--quick', action='store_true', help='tiny sizes: a check of this script')
    p.add_argument('--out', required=True, help='the results JSON (rewritten after every step)')
    p.add_argument('--work-dir', default='/tmp/smnas_gpu_check')
    p.add_argument('--steps', nargs='+', default=['install', 'sandwich', 'scoring', 'retrain', 'latency'])
    args = p.parse_args()
    from smnas.register import register_all_modules
    from smnas.utils import atomic_write_json, collect_env_versions

    register_all_modules()
    root = Path(args.work_dir)
    root.mkdir(parents=True, exist_ok=True)
    results = dict(device=args.device, quick=args.quick, versions=collect_env_versions(), steps={})
    steps = dict(install=step_install, sandwich=step_sandwich,
                 scoring=lambda d, q: step_scoring(d, q, root / 'scoring'),
                 retrain=lambda d, q: step_retrain(d, q, root / 'retrain'),
                 latency=lambda d, q: step_latency(d, q, root / 'latency'))
    ok = True
    for name in args.steps:
        t0 = time.perf_counter()
        print(f'[gpu-check] {name}...', flush=True)
        try:
            res = dict(ok=True, **steps[name](args.device, args.quick))
        except Exception as e:  # report and go on: one broken step must not hide the others
            ok = False
            res = dict(ok=False, error=f'{type(e).__name__}: {e}', traceback=traceback.format_exc()[-3000:])
        res['wall_seconds'] = time.perf_counter() - t0
        results['steps'][name] = res
        atomic_write_json(args.out, results, indent=1)
        print(f'[gpu-check] {name}: {"ok" if res["ok"] else res["error"]} ({res["wall_seconds"]:.1f} s)',
              flush=True)
    return 0 if ok else 1


if __name__ == '__main__':
    sys.exit(main())
