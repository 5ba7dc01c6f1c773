"""Search engines: Optuna-backed multi-objective evolution with per-trial isolation."""
from .study import arch_outcomes, hypervolume_2d, open_study, pareto_front, spread_along
from .trial import TrialFailed, run_trial_subprocess

__all__ = ['TrialFailed', 'arch_outcomes', 'hypervolume_2d', 'open_study', 'pareto_front',
           'run_trial_subprocess', 'spread_along']
