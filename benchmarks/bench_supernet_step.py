"""Cost of weight sharing, measured side by side in one run.

1. One sandwich step of the supernet (max, min and k random members) against the
   sum of the training-step times of the same subnets exported as static models.
   Goal: at most 1.10x.
2. Each dynamic op at max width against its static op, inference and a training
   step (forward + backward). Goal: at most 1.05x.
3. A conv on a strided view of a larger weight against a copied slice and the
   static conv (why ``supernet.ops`` copies slices).
4. What in-place distillation adds to a sandwich step: ``distill='features'`` and
   ``'outputs'`` (the RPN's and the RoI head's, on the max member's RoIs) against none.
5. Training recipes against one another on a config's supernet (``--sections recipes``):
   the mean step of each over the same iterations, so over the same draws of its sampler
   (the members vary step by step; a recipe with the max member pays for it every step).

Timings interleave the compared variants and report the median of repeats, so a
noisy machine affects both sides alike.

    python benchmarks/bench_supernet_step.py                 # CPU defaults (~3 min)
    python benchmarks/bench_supernet_step.py --size 320 --repeats 10 --json out.json
    python benchmarks/bench_supernet_step.py --sections distill     # one section
    python benchmarks/bench_supernet_step.py --sections recipes --config configs/supernet/rank_synthetic.py \
        --steps 12 --recipe no_extremes 'model.extremes=[]' model.distill=False  # (more --recipe ...)
"""
import argparse
import statistics
import time

import torch
import torch.nn.functional as F
from mmcv.cnn.bricks.conv_ws import ConvWS2d
from mmengine.logging import MessageHub
from mmengine.optim import OptimWrapper
from torch import nn

from smnas.utils.io import atomic_write_json
from smnas.testing import build_detector, demo_batch
from smnas.modular.structure import supernet_model_cfg
from supernet.export import export_subnet
from supernet.ops import DynamicConv2d, DynamicGroupNorm, DynamicLinear
from supernet.space import ModularSpace


def _sync() -> None:
    """Wait for queued GPU work, so that a timer measures it (nothing on the CPU)."""
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        torch.cuda.synchronize()


def timed(fn, repeats: int, warmup: int = 2) -> float:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        _sync()
        t0 = time.perf_counter()
        fn()
        _sync()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def interleaved(fns: dict, repeats: int, warmup: int = 5) -> dict:
    """Median time of each function, the variants alternating run by run (after
    ``warmup`` runs of each: sub-millisecond ops are slow on their first calls)."""
    for fn in fns.values():
        for _ in range(warmup):
            fn()
    times = {k: [] for k in fns}
    for _ in range(repeats):
        for k, fn in fns.items():
            _sync()
            t0 = time.perf_counter()
            fn()
            _sync()
            times[k].append(time.perf_counter() - t0)
    return {k: statistics.median(v) for k, v in times.items()}


def bench_ops(repeats: int) -> dict:
    torch.manual_seed(0)
    x = torch.randn(4, 128, 40, 40)
    res = {}
    cases = {
        'conv3x3_ws': (DynamicConv2d(128, 128, 3, padding=1, weight_std=True),
                       ConvWS2d(128, 128, 3, padding=1, bias=False), x),
        'conv3x3': (DynamicConv2d(128, 128, 3, padding=1), nn.Conv2d(128, 128, 3, padding=1, bias=False), x),
        'groupnorm': (DynamicGroupNorm(128), nn.GroupNorm(16, 128), x),
        'linear': (DynamicLinear(1024, 1024), nn.Linear(1024, 1024), torch.randn(512, 1024)),
    }
    for name, (dyn, static, inp) in cases.items():
        static.load_state_dict(dyn.state_dict())
        inp_g = inp.clone().requires_grad_()

        def train(m, inp_g=inp_g):
            m(inp_g).sum().backward()

        with torch.no_grad():
            t_inf = interleaved({'dyn': lambda d=dyn, i=inp: d(i), 'static': lambda s=static, i=inp: s(i)},
                                repeats)
        t_train = interleaved({'dyn': lambda d=dyn: train(d), 'static': lambda s=static: train(s)}, repeats)
        res[name] = dict(inference_ratio=t_inf['dyn'] / t_inf['static'],
                         train_ratio=t_train['dyn'] / t_train['static'])
    # Strided view vs copied slice (64 of 128 channels) vs a static 64-channel conv.
    big = nn.Parameter(torch.randn(128, 128, 3, 3))
    small = nn.Parameter(big.detach()[:64, :64].clone())
    xs = torch.randn(4, 64, 40, 40, requires_grad=True)
    t = interleaved({
        'view': lambda: F.conv2d(xs, big[:64, :64], padding=1).sum().backward(),
        'copy': lambda: F.conv2d(xs, big[:64, :64].contiguous(), padding=1).sum().backward(),
        'static': lambda: F.conv2d(xs, small, padding=1).sum().backward(),
    }, repeats)
    res['slice_64_of_128_train'] = dict(view_ratio=t['view'] / t['static'],
                                        copy_ratio=t['copy'] / t['static'])
    return res


RCNN = 'r18_fpn-p2p5-p6_rpn_rcnn_512x512'  # the structure around which the supernet is built


STEP_SPACE = ModularSpace(bases=(48, 64), max_depths=(2, 2, 2, 2), neck_channels=(128, 256),
                          head_channels=(128, 256))


def _sandwich(k: int, device: str, **kw):
    """The step benchmark's supernet (seeded alike), and its architecture config."""
    torch.manual_seed(0)
    cfg = supernet_model_cfg(RCNN, STEP_SPACE, num_classes=5)
    model = build_detector(dict(type='SandwichSupernet', architecture=cfg, space=STEP_SPACE.to_dict(),
                                num_random_subnets=k, **kw)).to(device)
    return model, cfg


def bench_distill(size: int, repeats: int, k: int, device: str = 'cpu', warmup: int = 5) -> dict:
    """A sandwich step with each distillation mode against one without (same members,
    weights and batch; interleaved)."""
    data = demo_batch(batch_size=2, size=(size, size), num_classes=5)
    MessageHub.get_current_instance().update_info('iter', 0)
    steps = {}
    for mode in (False, 'features', 'outputs'):
        model, _ = _sandwich(k, device, distill=mode)
        optim = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.0))  # the same weights each step
        steps[str(mode or 'none')] = lambda m=model, o=optim: m.train_step(data, o)
    t = interleaved(steps, repeats, warmup)
    return dict(seconds=t, **{f'{m}_ratio': t[m] / t['none'] for m in ('features', 'outputs')})


#: the recipes section's default recipes (--cfg-options each): the configs' recipe until
#: 2026-12-05 (3 fair random members) and distillation of the max member's outputs (the max
#: member and 2 fair random ones), the two best on the rank benchmark (benchmarks/README.md)
RECIPES = {
    'no_extremes': ['model.extremes=[]', 'model.num_random_subnets=3', 'model.sampling=fair',
                    'model.distill=False'],
    'distill_outputs': ['model.extremes=[max]', 'model.num_random_subnets=2', 'model.sampling=fair',
                        'model.distill=outputs'],
}


def _options(pairs) -> dict:
    """``KEY=VALUE`` strings as mmengine's ``--cfg-options`` parses them."""
    from smnas.engine.runner import DictAction

    p = argparse.ArgumentParser()
    p.add_argument('--o', nargs='*', action=DictAction, default={})
    return p.parse_args(['--o', *pairs]).o


def bench_recipes(config: str, recipes: dict, steps: int, device: str = 'cpu', warmup: int = 1,
                  batch_size: int = None) -> dict:
    """The mean training step of each recipe on ``config``'s supernet.

    Args:
        config: a supernet config (its space, detector and val input size).
        recipes: name -> ``KEY=VALUE`` options on the config (the first is the reference).
        steps: timed steps of each recipe, iterations 0 to ``steps - 1``: every recipe draws
            the members its sampler gives those iterations. The recipes alternate step by
            step (their order flipped every step), so a slow spell of the machine hits all.
        device: 'cpu' or 'cuda'.
        warmup: untimed steps of each recipe first (at iterations past the timed ones).
        batch_size: images per step (default: the config's train batch size).

    Returns:
        ``dict(config, steps, batch_size, input_hw, recipes={name: options}, mean_s={name: s},
        ratio={name: mean over the first's}, step_s={name: [each timed step's seconds]},
        members={name: [members of each timed step]})``.
    """
    from smnas.engine.runner import read_config
    from smnas.search.subnet import val_input_size

    base = read_config(config)
    w, h = val_input_size(base)
    batch_size = int(batch_size or base.train_dataloader.batch_size)
    data = demo_batch(batch_size=batch_size, size=(h, w), num_classes=int(base.get('num_classes', 5)))
    hub = MessageHub.get_current_instance()
    runs = {}
    for name, pairs in recipes.items():
        cfg = read_config(config, _options(pairs))
        model = build_detector(cfg.model).to(device)  # seeded alike: the same initial weights
        optim = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.0))  # the weights stay put
        runs[name] = (model, optim)
    for i in range(warmup):
        for model, optim in runs.values():
            hub.update_info('iter', steps + i)
            model.train_step(data, optim)
    times = {name: [] for name in runs}
    members = {name: [] for name in runs}
    for i in range(steps):
        order = list(runs) if i % 2 == 0 else list(reversed(runs))
        for name in order:
            model, optim = runs[name]
            hub.update_info('iter', i)
            members[name].append([str(s) for _, s in model.sandwich_members(i)])
            _sync()
            t0 = time.perf_counter()
            model.train_step(data, optim)
            _sync()
            times[name].append(time.perf_counter() - t0)
    mean = {name: statistics.fmean(t) for name, t in times.items()}
    first = next(iter(runs))
    return dict(config=config, steps=steps, batch_size=batch_size, input_hw=[h, w],
                recipes={k: list(v) for k, v in recipes.items()}, mean_s=mean,
                ratio={name: mean[name] / mean[first] for name in runs}, step_s=times, members=members)


def bench_step(size: int, repeats: int, k: int, device: str = 'cpu') -> dict:
    model, cfg = _sandwich(k, device)
    data = demo_batch(batch_size=2, size=(size, size), num_classes=5)
    optim = OptimWrapper(torch.optim.SGD(model.parameters(), lr=1e-4))
    MessageHub.get_current_instance().update_info('iter', 0)
    members = [s for _, s in model.sandwich_members(0)]
    statics = []
    for sub in members:
        scfg, sd = export_subnet(cfg, model.architecture.state_dict(), sub)
        m = build_detector(scfg)
        m.load_state_dict(sd)
        m.to(device)
        statics.append((m, OptimWrapper(torch.optim.SGD(m.parameters(), lr=1e-4))))

    def sandwich():
        model.train_step(data, optim)

    def static_steps():
        for m, o in statics:
            m.train_step(data, o)

    t = interleaved({'sandwich': sandwich, 'static_sum': static_steps}, repeats)
    return dict(members=[str(s) for s in members], sandwich_s=t['sandwich'], static_sum_s=t['static_sum'],
                ratio=t['sandwich'] / t['static_sum'])


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--size', type=int, default=192, help='square input size of the step benchmark')
    p.add_argument('--repeats', type=int, default=5)
    p.add_argument('--k', type=int, default=2, help='random members per sandwich step')
    p.add_argument('--json', help='write the results here')
    p.add_argument('--device', default='cpu', help='cpu or cuda (the step benchmark; the op benchmark '
                   'stays on the CPU)')
    p.add_argument('--warmup', type=int, default=5, help='untimed runs of each variant first (distill)')
    p.add_argument('--sections', default='step,ops,distill',
                   help='comma-separated: step (sandwich vs static), ops (dynamic vs static ops), '
                   'distill (what distillation adds to a step), recipes (training recipes on --config)')
    p.add_argument('--config', default='configs/supernet/rank_synthetic.py',
                   help="the recipes section's supernet config")
    p.add_argument('--recipe', nargs='+', action='append', metavar=('NAME', 'KEY=VALUE'),
                   help='a recipe of the recipes section: its name and --cfg-options (repeat the flag; '
                   'default: ' + ', '.join(RECIPES) + ')')
    p.add_argument('--steps', type=int, default=12, help='timed steps of each recipe (recipes)')
    p.add_argument('--batch-size', type=int, help="images per step (recipes; default: the config's)")
    args = p.parse_args(argv)
    sections = set(args.sections.split(','))
    unknown = sections - {'step', 'ops', 'distill', 'recipes'}
    if unknown:
        p.error(f'unknown sections {sorted(unknown)}: choose among step, ops, distill, recipes')
    out = dict(threads=torch.get_num_threads(), device=args.device, size=args.size, k=args.k)
    if 'step' in sections:
        step = out['step'] = bench_step(args.size, args.repeats, args.k, args.device)
        print(f'sandwich step vs summed static steps ({len(step["members"])} members, {args.size}px): '
              f'{step["ratio"]:.3f}x  ({step["sandwich_s"]:.2f}s vs {step["static_sum_s"]:.2f}s; '
              f'goal <= 1.10x)')
    if 'ops' in sections:
        out['ops'] = bench_ops(max(args.repeats * 10, 50))
        for name, r in out['ops'].items():
            print(f'{name:<24} ' + '  '.join(f'{k} {v:.3f}x' for k, v in r.items()))
    if 'distill' in sections:
        d = out['distill'] = bench_distill(args.size, args.repeats, args.k, args.device, args.warmup)
        print(f'sandwich step with distillation vs without ({args.size}px): features '
              f'{d["features_ratio"]:.3f}x, outputs {d["outputs_ratio"]:.3f}x  ('
              + ', '.join(f'{m} {v:.2f}s' for m, v in d['seconds'].items()) + ')')
    if 'recipes' in sections:
        recipes = {r[0]: r[1:] for r in args.recipe} if args.recipe else RECIPES
        r = out['recipes'] = bench_recipes(args.config, recipes, args.steps, args.device,
                                           batch_size=args.batch_size)
        print(f'training recipes on {args.config} ({args.steps} steps each, batch {r["batch_size"]}, '
              f'{r["input_hw"][1]}x{r["input_hw"][0]}): '
              + ', '.join(f'{n} {r["mean_s"][n]:.2f}s/step ({r["ratio"][n]:.2f}x)' for n in r['mean_s']))
    if args.json:
        atomic_write_json(args.json, out, indent=1)
    return out


if __name__ == '__main__':
    main()
