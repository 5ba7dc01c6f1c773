"""The structural stage of SM-NAS: search space, config builder."""
from .space import (BACKBONES, HEADS, INPUT_SIZES, RPNS, RULES, Candidate, InvalidCandidate, Neck,
                    StructuralSpace)

__all__ = ['BACKBONES', 'HEADS', 'INPUT_SIZES', 'RPNS', 'RULES', 'Candidate', 'InvalidCandidate',
           'Neck', 'StructuralSpace']
