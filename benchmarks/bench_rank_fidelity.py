"""Does the supernet rank subnets as training them from scratch would, and at what cost?

In one resumable run (every step is stored in the work dir; rerun the command to go on):

1. train the supernet of CONFIG (``tools/train_supernet.py``, resumed if interrupted);
2. pick N subnets spread over the FLOPs range (evenly spaced FLOPs quantiles of a seeded
   sample of the space, the min and max subnets included);
3. score each with inherited weights on the val split (timed);
4. train each from scratch with one common schedule (the supernet config's, rescaled by
   ``--scratch-iters``, plus ``--retrain-options``) in its own process, score it on the
   same split (timed);
5. report Kendall tau and Spearman rho between the two rankings (scipy), per-subnet mAP,
   FLOPs and params;
6. run the modular stage's search (``--search-subnets``, default 300, with the same
   supernet) and compare the whole stage, supernet training plus search, with training
   every searched subnet from scratch (each subnet's cost from a linear fit in GFLOPs of
   the from-scratch times measured in step 4).

    python benchmarks/bench_rank_fidelity.py configs/supernet/bccd.py --work-dir benchmarks/runs/rank_bccd \
        --scratch-iters 300
    python benchmarks/bench_rank_fidelity.py CONFIG --subnets 8 --search-subnets 0   # ranking only

Results: ``<work-dir>/rank_fidelity.json`` and a printed table.
"""
import argparse
import copy
import json
import random
import subprocess
import sys
import time
from pathlib import Path

from mmengine.config import DictAction

from smnas.data.prepare import prepare_data
from smnas.engine import read_config
from smnas.utils import atomic_write_json, collect_env_versions
from smnas.utils.paths import REPO_ROOT


def logged_train_seconds(work_dir: Path) -> float:
    """Training time of an mmengine run from its logged step times, resumes included:
    for every logged iteration the latest run's mean step time over the logging window
    (validation and checkpointing excluded)."""
    steps = {}
    for scalars in sorted(Path(work_dir).glob('*/vis_data/scalars.json')):  # oldest run first
        for line in scalars.read_text().splitlines():
            rec = json.loads(line)
            if 'lr' in rec and 'time' in rec:  # training lines only
                steps[int(rec['step'])] = float(rec['time'])
    total, prev = 0.0, 0
    for step in sorted(steps):
        total += steps[step] * (step - prev)
        prev = step
    return total


def linear_fit(xs, ys):
    """Least-squares ``y = a + b x``; returns (a, b, r2)."""
    import numpy as np

    x, y = np.asarray(xs, float), np.asarray(ys, float)
    b, a = np.polyfit(x, y, 1) if len(set(xs)) > 1 else (0.0, float(y.mean()))
    ss = float(((y - y.mean()) ** 2).sum())
    r2 = 1.0 - float(((y - (a + b * x)) ** 2).sum()) / ss if ss > 0 else 1.0
    return float(a), float(b), r2


def spread_subnets(space, table, n: int, seed: int, pool: int = 2000) -> list:
    """``n`` subnets at evenly spaced FLOPs quantiles of a seeded sample (min and max
    subnets included), cheapest first."""
    rng = random.Random(seed)
    cands = {str(s): s for s in [space.min_subnet(), space.max_subnet()] +
             [space.sample(rng) for _ in range(pool)]}
    priced = sorted(((table.flops(s), k) for k, s in cands.items()))
    picks = []
    for i in range(n):
        k = priced[round(i * (len(priced) - 1) / max(n - 1, 1))][1]
        if k not in picks:
            picks.append(k)
    return picks


class RankFidelity:
    """The benchmark's steps over one work dir (``state.json`` holds what is done)."""

    def __init__(self, config: str, work_dir: str, cfg_options=None, retrain_options=None,
                 n_subnets: int = 8, seed: int = 0, scratch_iters=None, search_subnets: int = 300):
        self.config = config
        self.cfg = read_config(config, cfg_options)
        self.wd = Path(work_dir)
        self.wd.mkdir(parents=True, exist_ok=True)
        self.retrain_options = retrain_options or {}
        self.n = n_subnets
        self.seed = seed
        self.state_path = self.wd / 'state.json'
        self.state = json.loads(self.state_path.read_text()) if self.state_path.is_file() else {}
        self.search_subnets = int(search_subnets)
        # One common schedule: a stored run keeps the one it started with.
        schedule = json.loads(json.dumps(dict(iters=scratch_iters, options=self.retrain_options)))
        trained = any('mAP_scratch' in r for r in self.state.get('subnets', {}).values())
        if trained and self.state.get('scratch', schedule) != schedule:
            raise SystemExit(f'{self.wd} trained subnets from scratch with {self.state["scratch"]}; rerun '
                             f'with the same --scratch-iters/--retrain-options, or use another --work-dir')
        self.scratch_iters = scratch_iters
        self.state['scratch'] = schedule

    def _save(self) -> None:
        atomic_write_json(self.state_path, self.state, indent=1)

    def train_supernet(self) -> Path:
        d = self.wd / 'supernet'
        d.mkdir(exist_ok=True)
        cfg_path = d / 'config.py'
        self.cfg.dump(str(cfg_path))
        final = d / f'iter_{int(self.cfg.train_cfg.max_iters)}.pth'
        if not final.is_file():
            # Wall time of the training processes (an interrupted one is not counted;
            # the summary uses the logged step times, which survive interruptions).
            t0 = time.time()
            rc = subprocess.call([sys.executable, str(REPO_ROOT / 'tools' / 'train_supernet.py'),
                                  str(cfg_path), '--work-dir', str(d), '--resume'])
            self.state['supernet_seconds'] = self.state.get('supernet_seconds', 0.0) + time.time() - t0
            self._save()
            if rc != 0 or not final.is_file():
                raise SystemExit(f'supernet training failed (exit {rc}); rerun to resume')
        return final

    def run(self) -> dict:
        from smnas.evaluation.inherited import InheritedEvaluator
        from smnas.modular.finalists import retrain_config
        from smnas.search.subnet import val_input_size
        from smnas.search.trial import TrialFailed, run_trial_subprocess
        from supernet.export import export_to_files
        from supernet.flops import FlopsTable

        self._save()

        prepare_data(self.cfg.get('prepare_data'))
        ckpt = self.train_supernet()
        evaluator = InheritedEvaluator(self.cfg, str(ckpt), str(self.wd / 'eval'))
        size = val_input_size(self.cfg)
        table = FlopsTable(evaluator.model, size)
        if 'subnets' not in self.state:
            self.state['subnets'] = {k: {} for k in spread_subnets(evaluator.space, table, self.n, self.seed)}
            self._save()
        rows = self.state['subnets']
        for arch, r in rows.items():
            r['gflops'] = table.flops(arch) / 1e9
            if 'mAP_inherited' not in r:
                t0 = time.time()
                m = evaluator.evaluate(arch)
                r.update(mAP_inherited=m['mAP'], mAP_50_inherited=m['mAP_50'],
                         inherited_seconds=time.time() - t0)
                self._save()
                print(f'[rank] {arch}: inherited mAP {m["mAP"]:.4f} ({r["inherited_seconds"]:.1f} s)',
                      flush=True)
        for arch, r in rows.items():
            if 'mAP_scratch' in r:
                continue
            out = self.wd / 'subnets' / arch
            cfg_path, _ = export_to_files(self.cfg, str(ckpt), arch, str(out))
            record = dict(config=cfg_path, arch=arch, input_size=list(size))
            print(f'[rank] {arch}: training from scratch', flush=True)
            t0 = time.time()
            try:
                res = run_trial_subprocess(retrain_config(record, self.retrain_options, self.scratch_iters),
                                           out / 'scratch')
            except TrialFailed as e:
                r['error'] = str(e)
            else:
                # Wall time of the whole child: training, scoring and measuring it.
                r.update(mAP_scratch=res['mAP'], mAP_50_scratch=res['mAP_50'], params_m=res['params'] / 1e6,
                         scratch_seconds=time.time() - t0, train_seconds=res['train_seconds'],
                         gflops_thop=res['flops'] / 1e9)
            self._save()
        del evaluator, table
        self.search(ckpt)
        return self.summary()

    def search(self, ckpt: Path) -> None:
        """The modular stage's subnet search on the same supernet, timed (resumable: the
        time of every invocation that evaluated subnets is added up)."""
        from smnas.search.study import arch_outcomes
        from smnas.search.subnet import SubnetSearch

        if self.search_subnets <= 0:
            return
        cfg = copy.deepcopy(self.cfg)
        cfg.merge_from_dict({'subnet_search.n_trials': self.search_subnets})
        t0 = time.time()
        search = SubnetSearch(cfg, str(ckpt), str(self.wd / 'search'))
        done = {a: o for a, o in arch_outcomes(search.open()).items() if o['state'] == 'complete'}
        if len(done) < search.target:
            print(f'[rank] searching {search.target} subnets with inherited weights', flush=True)
            try:
                study = search.run()
            finally:
                self.state['search_seconds'] = self.state.get('search_seconds', 0.0) + time.time() - t0
                self._save()
            done = {a: o for a, o in arch_outcomes(study).items() if o['state'] == 'complete'}
        self.state['search'] = dict(
            subnets=len(done), target=search.target,
            gflops=sorted(o['values'][1] / 1e9 for o in done.values()),
            eval_seconds=sum(o['attrs'].get('eval_seconds', 0.0) for o in done.values()))
        self._save()

    def summary(self) -> dict:
        from scipy.stats import kendalltau, spearmanr

        rows = {k: r for k, r in self.state['subnets'].items() if 'mAP_scratch' in r}
        inh = [r['mAP_inherited'] for r in rows.values()]
        scr = [r['mAP_scratch'] for r in rows.values()]
        tau, tau_p = kendalltau(inh, scr)
        rho, rho_p = spearmanr(inh, scr)
        mean = lambda key: sum(r[key] for r in rows.values()) / len(rows)  # noqa: E731
        out = dict(config=self.config, subnets=self.state['subnets'], kendall_tau=float(tau),
                   kendall_p=float(tau_p), spearman_rho=float(rho), spearman_p=float(rho_p),
                   supernet_seconds=logged_train_seconds(self.wd / 'supernet'),
                   supernet_wall_seconds=self.state.get('supernet_seconds'),
                   mean_inherited_seconds=mean('inherited_seconds'),
                   mean_scratch_seconds=mean('scratch_seconds'),
                   scratch_over_inherited=mean('scratch_seconds') / mean('inherited_seconds'),
                   scratch_schedule=self.state['scratch'], seed=self.seed,
                   supernet_config=self.cfg.to_dict(), versions=collect_env_versions())
        if 'search' in self.state:
            out['modular_stage'] = self.stage_cost(rows, out['supernet_seconds'])
        atomic_write_json(self.wd / 'rank_fidelity.json', out, indent=1)
        return out

    def stage_cost(self, rows: dict, supernet_seconds: float) -> dict:
        """The modular stage (supernet + search) against training every searched subnet
        from scratch, each priced by the fit of measured from-scratch times on GFLOPs."""
        a, b, r2 = linear_fit([r['gflops'] for r in rows.values()],
                              [r['scratch_seconds'] for r in rows.values()])
        search = self.state['search']
        every = sum(max(a + b * g, 0.0) for g in search['gflops'])
        stage = supernet_seconds + self.state['search_seconds']
        return dict(searched_subnets=search['subnets'], search_seconds=self.state['search_seconds'],
                    search_eval_seconds=search['eval_seconds'], supernet_seconds=supernet_seconds,
                    stage_seconds=stage, scratch_fit=dict(seconds_at_0=a, seconds_per_gflop=b, r2=r2),
                    every_searched_from_scratch_seconds=every, every_searched_over_stage=every / stage)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('config', help='a supernet config (e.g. configs/supernet/bccd.py)')
    p.add_argument('--work-dir', default='benchmarks/runs/rank_fidelity')
    p.add_argument('--subnets', type=int, default=8)
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--scratch-iters', type=int,
                   help="from-scratch schedule: the supernet's rescaled to this many iterations")
    p.add_argument('--search-subnets', type=int, default=300,
                   help='subnets the timed search evaluates (0: no search, no stage cost)')
    p.add_argument('--cfg-options', nargs='+', action=DictAction, help='override supernet config keys')
    p.add_argument('--retrain-options', nargs='+', action=DictAction,
                   help='override keys of the from-scratch training (the common schedule)')
    args = p.parse_args()
    s = RankFidelity(args.config, args.work_dir, args.cfg_options, args.retrain_options, args.subnets,
                     args.seed, args.scratch_iters, args.search_subnets).run()
    print(f'{"subnet":34s} {"GFLOPs":>7s} {"mAP inh":>8s} {"mAP scratch":>11s}')
    for arch, r in sorted(s['subnets'].items(), key=lambda kv: kv[1]['gflops']):
        scratch = f'{r["mAP_scratch"]:.4f}' if 'mAP_scratch' in r else r.get('error', '')
        print(f'{arch:34s} {r["gflops"]:7.3f} {r["mAP_inherited"]:8.4f} {scratch:>11s}')
    print(f'Kendall tau {s["kendall_tau"]:.3f} (p {s["kendall_p"]:.3f}), Spearman rho '
          f'{s["spearman_rho"]:.3f} (p {s["spearman_p"]:.3f}); scoring a subnet with inherited weights: '
          f'{s["mean_inherited_seconds"]:.1f} s, from scratch: {s["mean_scratch_seconds"]:.0f} s '
          f'({s["scratch_over_inherited"]:.0f}x)')
    if 'modular_stage' in s:
        m = s['modular_stage']
        print(f'modular stage: supernet {m["supernet_seconds"] / 60:.1f} min + search of '
              f'{m["searched_subnets"]} subnets {m["search_seconds"] / 60:.1f} min = '
              f'{m["stage_seconds"] / 3600:.2f} h; training every '
              f'searched subnet from scratch: {m["every_searched_from_scratch_seconds"] / 3600:.1f} h '
              f'({m["every_searched_over_stage"]:.1f}x; fit r2 {m["scratch_fit"]["r2"]:.2f})')


if __name__ == '__main__':
    main()
