"""Multi-fidelity structural search: successive halving with multi-objective promotion.

At the budget of ``n_trials`` full trainings (``R`` iterations each), rung 0 trains
many distinct candidates, drawn uniformly from the space, for ``R / eta**(rungs-1)``
iterations; each later rung keeps the best ``1/eta`` of the one before and trains them
``eta`` times longer, up to ``R``. Latency does not depend on training, so "best" is
NSGA-II's order on (mAP at this rung, latency): non-dominated rank first, then crowding
distance, which keeps fast and accurate candidates alike. Each rung trains from scratch
with the schedule rescaled to its length (:func:`smnas.engine.rescale_schedule`), so a
score at a rung is what that schedule gives, and the top rung is the fixed schedule's.

Only top-rung scores enter the study as completed trials (the front, the report and the
pipeline compare like with like); lower rungs are stored as pruned trials with their
scores. Every training is kept on disk, so a rerun resumes. Afterwards the most accurate
top-rung candidate is trained again with other seeds: its spread is the noise the
front's differences must be read against.
"""
import functools
import math
import random
import statistics
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import optuna
from optuna.trial import TrialState, create_trial

from ..engine.jobs import run_parallel
from ..records import TrialResult
from ..utils import atomic_write_json
from .pareto import dominates
from .trial import TrialFailed, read_stored

FIDELITY_DEFAULTS = dict(
    kind='fixed',   # 'fixed': every candidate trains the whole schedule; 'halving'
    eta=3,          # keep 1/eta of a rung; the next trains eta times longer
    rungs=3,        # rung lengths R/eta^(rungs-1) ... R
    repeats=2,      # extra seeds of the most accurate top-rung candidate (its noise)
)
RECORD = 'fidelity.json'


def nsga2_order(points: Sequence[Tuple[str, float, float]]) -> List[str]:
    """Keys of (key, accuracy, cost) points in NSGA-II's selection order: by
    non-dominated rank, then by decreasing crowding distance within a rank (the
    extremes of a rank first)."""
    left = list(points)
    order: List[str] = []
    while left:
        front = [p for p in left if not any(dominates(q[1:3], p[1:3]) for q in left)]
        crowd = {p[0]: 0.0 for p in front}
        for axis in (1, 2):
            s = sorted(front, key=lambda p: p[axis])
            span = (s[-1][axis] - s[0][axis]) or 1.0
            crowd[s[0][0]] = crowd[s[-1][0]] = math.inf
            for i in range(1, len(s) - 1):
                crowd[s[i][0]] += (s[i + 1][axis] - s[i - 1][axis]) / span
        order += [p[0] for p in sorted(front, key=lambda p: (-crowd[p[0]], -p[1], p[0]))]
        left = [p for p in left if p not in front]
    return order


def rung_iters(full_iters: int, eta: int, rungs: int) -> List[int]:
    """Training length of each rung, the last being the whole schedule."""
    return [max(1, round(full_iters / eta ** (rungs - 1 - r))) for r in range(rungs)]


def rung_sizes(n0: int, eta: int, rungs: int) -> List[int]:
    """Candidates per rung when every rung keeps 1/eta (at least one)."""
    sizes = [n0]
    for _ in range(rungs - 1):
        sizes.append(max(1, sizes[-1] // eta))
    return sizes


def plan(budget_trainings: float, full_iters: int, eta: int, rungs: int, space_size: int) -> dict:
    """The largest rung-0 population whose halving costs at most ``budget_trainings``
    full trainings (counted in iterations).

    Returns:
        ``dict(iters, sizes, cost_iters, budget_iters)``.
    """
    iters = rung_iters(full_iters, eta, rungs)
    budget = budget_trainings * full_iters
    n0 = 1
    while n0 < space_size:
        cost = sum(n * i for n, i in zip(rung_sizes(n0 + 1, eta, rungs), iters))
        if cost > budget:
            break
        n0 += 1
    sizes = rung_sizes(n0, eta, rungs)
    return dict(iters=iters, sizes=sizes, cost_iters=sum(n * i for n, i in zip(sizes, iters)),
                budget_iters=budget)


class HalvingRun:
    """Successive halving over a :class:`~smnas.search.structural.StructuralSearch`'s
    space, with its trainer, devices and study.

    Args:
        search: the structural search (its config's ``search.fidelity`` holds
            :data:`FIDELITY_DEFAULTS` overrides).
    """

    def __init__(self, search):
        self.search = search
        self.opts = dict(FIDELITY_DEFAULTS, **dict(search.opts.get('fidelity') or {}))
        self.eta, self.rungs = int(self.opts['eta']), int(self.opts['rungs'])
        if self.eta < 2 or self.rungs < 1:
            raise ValueError(f'search.fidelity needs eta >= 2 and rungs >= 1, got {self.opts}')
        self.full_iters = int(search.base.train_cfg.max_iters)
        self.plan = plan(search.target, self.full_iters, self.eta, self.rungs, search.space.count())

    def _dir(self, arch: str, iters: int, seed: Optional[int] = None) -> Path:
        if seed is not None:
            return self.search.work_dir / 'repeats' / arch / f'seed{seed}'
        if iters == self.full_iters:  # the fixed schedule's own folder: shared with it
            return self.search.results_dir / arch
        return self.search.work_dir / f'trials_it{iters}' / arch

    def _train(self, arch: str, iters: int, seed: Optional[int] = None) -> dict:
        """One training (reused when stored): ``dict(arch, iters, mAP, latency_ms, ...)``
        or ``dict(arch, iters, error)``."""
        from ..engine.schedule import rescale_schedule
        from ..structural.space import Candidate

        d = self._dir(arch, iters, seed)
        stored = read_stored(d)
        if stored and stored.get('status') == 'ok':
            return dict(TrialResult.from_dict(stored).__dict__, arch=arch, iters=iters)
        if stored and stored.get('status') == 'failed' and not self.search.opts['retry_failed']:
            return dict(arch=arch, iters=iters, error=stored['error'])
        cfg = self.search.candidate_config(Candidate.parse(arch))
        if iters != self.full_iters:
            rescale_schedule(cfg, iters)
        if seed is not None:
            cfg.randomness = dict(cfg.get('randomness') or {}, seed=seed)
        try:
            res = self.search.train(cfg, d)
        except TrialFailed as e:
            return dict(arch=arch, iters=iters, error=str(e))
        return dict(res.__dict__, arch=arch, iters=iters)

    def _train_all(self, jobs: List[tuple]) -> List[dict]:
        # run_parallel: a stopped search kills its trainings and starts no other
        return run_parallel([functools.partial(self._train, *j) for j in jobs], self.search.workers)

    def _record(self, study: optuna.Study, r: dict, rung: int, top: bool) -> None:
        """Add a training to the study once (top rung: completed; lower: pruned)."""
        for t in study.get_trials(deepcopy=False):
            if t.user_attrs.get('arch') == r['arch'] and t.user_attrs.get('rung', rung) == rung \
                    and t.user_attrs.get('fidelity_iters') == r['iters']:
                return
        attrs = dict(arch=r['arch'], rung=rung, fidelity_iters=r['iters'])
        if 'error' in r:
            study.add_trial(create_trial(state=TrialState.FAIL, user_attrs=dict(attrs, error=r['error'])))
            return
        attrs.update({k: r.get(k) for k in self.search.result_keys if r.get(k) is not None})
        if top:
            study.add_trial(create_trial(state=TrialState.COMPLETE, values=[r['mAP'], r['latency_ms']],
                                         user_attrs=attrs))
        else:
            study.add_trial(create_trial(state=TrialState.PRUNED, intermediate_values={r['iters']: r['mAP']},
                                         user_attrs=attrs))

    def candidates(self) -> List[str]:
        """Rung 0: distinct candidates drawn uniformly with the search seed."""
        rng = random.Random(int(self.search.opts['seed']))
        space = self.search.space
        n = self.plan['sizes'][0]
        if n >= space.count():
            return [str(c) for c in space.candidates()]
        out: List[str] = []
        while len(out) < n:
            c = str(space.sample(rng))
            if c not in out:
                out.append(c)
        return out

    def run(self, study: optuna.Study) -> dict:
        """Train every rung, promote, record in ``study``, then the repeats.

        Returns:
            The record written to ``<work_dir>/fidelity.json``.
        """
        p = self.plan
        label = self.search.label
        print(f'[{label}] successive halving: {p["sizes"]} candidates for {p["iters"]} iterations '
              f'({p["cost_iters"]} of a {p["budget_iters"]:.0f}-iteration budget: '
              f'{self.search.target} full trainings)', flush=True)
        alive = self.candidates()
        rungs = []
        for r, iters in enumerate(p['iters']):
            top = r == len(p['iters']) - 1
            results = self._train_all([(a, iters) for a in alive])
            for res in results:
                self._record(study, res, r, top)
            ok = [(x['arch'], x['mAP'], x['latency_ms']) for x in results if 'error' not in x]
            rungs.append(dict(iters=iters, results=[
                {k: x.get(k) for k in ('arch', 'mAP', 'mAP_se', 'latency_ms', 'train_seconds', 'error')}
                for x in results]))
            best = max(ok, key=lambda x: x[1]) if ok else None
            print(f'[{label}] rung {r + 1}/{len(p["iters"])} ({iters} iterations): {len(ok)} of '
                  f'{len(results)} trained' + (f', best mAP {best[1]:.3f} ({best[0]})' if best else ''),
                  flush=True)
            if not top:
                keep = p['sizes'][r + 1]
                alive = nsga2_order(ok)[:keep]
                if not alive:
                    break
        record = dict(kind='halving', eta=self.eta, plan=p, rungs=rungs,
                      repeats=self.repeat_best(rungs[-1]['results'] if rungs else []))
        atomic_write_json(self.search.work_dir / RECORD, record, indent=1)
        return record

    def repeat_best(self, top_results: List[dict]) -> Optional[dict]:
        """Train the most accurate of ``top_results`` (``arch``, ``mAP`` at the whole
        schedule) again with ``repeats`` other seeds.

        Returns:
            :func:`repeat_summary` of its scores, or None (nothing to repeat).
        """
        ok = [r for r in top_results if r.get('error') is None and r.get('mAP') is not None]
        n = int(self.opts['repeats'])
        if not ok or n < 1:
            return None
        best = max(ok, key=lambda r: r['mAP'])
        seed0 = int((self.search.base.get('randomness') or {}).get('seed', 0) or 0)
        runs = self._train_all([(best['arch'], self.full_iters, seed0 + 1 + i) for i in range(n)])
        scores = [best['mAP']] + [r['mAP'] for r in runs if 'error' not in r]
        print(f'[{self.search.label}] noise: {best["arch"]} over {len(scores)} seeds: mAP '
              + ', '.join(f'{s:.3f}' for s in scores), flush=True)
        return repeat_summary(best['arch'], scores, [r.get('error') for r in runs if 'error' in r])


def repeat_summary(arch: str, scores: List[float], errors: Sequence[str] = ()) -> Dict[str, object]:
    """Spread of one candidate's repeated trainings."""
    return dict(arch=arch, mAPs=scores, mean=statistics.fmean(scores),
                std=statistics.stdev(scores) if len(scores) > 1 else None,
                range=max(scores) - min(scores), errors=list(errors))
