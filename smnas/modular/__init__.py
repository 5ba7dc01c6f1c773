"""The modular stage after the supernet: finalists chosen along the subnet search's
front (or given as subnets), exported and retrained from scratch."""
from .finalists import (export_finalists, finalists_from_subnets, load_finalists, retrain_config,
                        retrain_finalists, select_finalists)

__all__ = ['export_finalists', 'finalists_from_subnets', 'load_finalists', 'retrain_config',
           'retrain_finalists', 'select_finalists']
