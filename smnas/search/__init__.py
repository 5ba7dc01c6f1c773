"""Search engines: Optuna-backed multi-objective evolution with per-trial isolation."""
from .pareto import hypervolume_2d, pareto_front, spread_along
from .study import arch_outcomes, open_study
from .trial import TrialFailed, run_trial_subprocess

__all__ = ['TrialFailed', 'arch_outcomes', 'hypervolume_2d', 'open_study', 'pareto_front',
           'run_trial_subprocess', 'spread_along']
