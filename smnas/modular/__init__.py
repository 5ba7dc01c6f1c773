"""The modular stage after the supernet: finalists chosen along the subnet search's
front, exported with inherited weights and retrained from scratch."""
from .finalists import (export_finalists, load_finalists, retrain_config, retrain_finalists,
                        select_finalists)

__all__ = ['export_finalists', 'load_finalists', 'retrain_config', 'retrain_finalists',
           'select_finalists']
