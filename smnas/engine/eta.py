"""How long the rest of a pipeline run will take, from what it has measured so far.

Each stage's cost is priced from rates the run measures as it goes:

- ``iter_s``: seconds per training iteration of the chosen structure (its structural
  trial: ``train_seconds / iterations``; after the supernet, the supernet's seconds per
  iteration divided by its members, which prices one subnet's iteration better);
- ``image_s``: seconds per val image at inference (the structure's measured batch-1
  latency, times an allowance for evaluation);
- ``trial_s``: seconds per structural candidate, while that stage runs.

Before a rate is measured, later stages are not priced and the ETA says so ("after
the structural stage"). Estimates are plain sums; tests check them on fixed numbers.
"""
import time
from dataclasses import dataclass, field
from typing import Dict, Optional, Sequence

STAGES = ('structural', 'supernet', 'subnet_search', 'retrain')
# evaluation (COCO, post-processing, data) on top of the batch-1 forward, per val image
EVAL_ALLOWANCE = 1.5


@dataclass
class PipelinePlan:
    """The work of each stage, from the pipeline's configs.

    Attributes:
        structural_trials, structural_iters: candidates and their iterations (0 when the
            structure is given).
        supernet_iters, supernet_members: sandwich steps and subnets per step.
        supernet_seeds: supernets trained (an ensemble: each subnet scored by each).
        search_trials: subnets scored; val_images: images each is scored on.
        finalists, retrain_iters: retrained models and their iterations.
    """
    structural_trials: int = 0
    structural_iters: int = 0
    supernet_iters: int = 0
    supernet_members: int = 3
    supernet_seeds: int = 1
    search_trials: int = 0
    val_images: int = 0
    finalists: int = 0
    retrain_iters: int = 0


@dataclass
class PipelineEta:
    """Remaining seconds of a pipeline run.

    Args:
        plan: the run's work.
        rates: measured rates (``iter_s``, ``image_s``, ``trial_s``).
        done: stages finished.
    """
    plan: PipelinePlan
    rates: Dict[str, float] = field(default_factory=dict)
    done: set = field(default_factory=set)

    def stage_seconds(self, stage: str) -> Optional[float]:
        """The whole stage's estimated seconds, or None before its rates are known."""
        p, r = self.plan, self.rates
        if stage == 'structural':
            return p.structural_trials * r['trial_s'] if 'trial_s' in r else None
        if 'iter_s' not in r:
            return None
        if stage == 'supernet':
            return p.supernet_seeds * p.supernet_iters * p.supernet_members * r['iter_s']
        if 'image_s' not in r:
            return None
        if stage == 'subnet_search':
            return p.supernet_seeds * p.search_trials * p.val_images * r['image_s']
        if stage == 'retrain':
            return p.finalists * (p.retrain_iters * r['iter_s'] + p.val_images * r['image_s'])
        raise ValueError(f'unknown stage {stage!r}')

    def remaining(self, stage: str, stage_left: Optional[float] = None) -> Optional[float]:
        """Seconds left from inside ``stage``: ``stage_left`` (the stage's own ETA; its
        estimate when None) plus every later unfinished stage; None when a later stage
        cannot be priced yet."""
        i = STAGES.index(stage)
        left = stage_left if stage_left is not None else self.stage_seconds(stage)
        if left is None:
            return None
        for later in STAGES[i + 1:]:
            if later in self.done:
                continue
            s = self.stage_seconds(later)
            if s is None:
                return None
            left += s
        return left

    def line(self, stage: str, stage_left: Optional[float] = None, now: Optional[float] = None) -> str:
        """`` | pipeline ETA HH:MM (N min left)``, or why it is not known yet."""
        left = self.remaining(stage, stage_left)
        if left is None:
            return ' | pipeline ETA: after the structural stage' if stage == 'structural' else ''
        end = time.localtime((now or time.time()) + left)
        return f' | pipeline ETA {time.strftime("%H:%M", end)} (~{left / 60:.0f} min left)'


def rates_from_trials(trials: Sequence[dict], iters: int) -> Dict[str, float]:
    """``iter_s`` and ``image_s`` from structural trials' results (``train_seconds``,
    ``latency_ms``) of ``iters`` iterations each: their means (empty without any)."""
    timed = [t for t in trials if t.get('train_seconds')]
    if not timed or not iters:
        return {}
    n = len(timed)
    return dict(iter_s=sum(t['train_seconds'] for t in timed) / n / iters,
                image_s=sum(t.get('latency_ms') or 0 for t in timed) / n / 1000 * EVAL_ALLOWANCE)


def parse_hms(text: str) -> Optional[float]:
    """Seconds of an ``H:MM:SS`` (or ``D day, H:MM:SS``) string, None if unreadable."""
    try:
        days = 0
        if 'day' in text:
            d, text = text.split(',', 1)
            days = int(d.split()[0])
        h, m, s = (float(v) for v in text.strip().split(':'))
        return days * 86400 + h * 3600 + m * 60 + s
    except ValueError:
        return None
