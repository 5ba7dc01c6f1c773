"""Errors shared by the search spaces (defined in :mod:`supernet.errors`, the lower layer)."""
from supernet.errors import RuleViolation

__all__ = ['RuleViolation']
