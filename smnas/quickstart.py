"""The quickstart job (``smnas-quickstart``): the whole SM-NAS pipeline on the embedded
synthetic dataset, sized for 2 CPU cores (about 30 minutes).

Same as ``smnas run configs/pipeline/quickstart_synthetic.py``: structural search,
supernet around the chosen structure, subnet search, finalists retrained, report in
``work_dirs/quickstart/report.md``. Rerunning resumes. TensorBoard:
``tensorboard --logdir work_dirs/quickstart``.
"""
import argparse
import sys
from typing import List, Optional

from .utils.paths import config_path

CONFIG = 'pipeline/quickstart_synthetic.py'


def main(argv: Optional[List[str]] = None) -> int:
    """Command line of the quickstart; returns the exit code."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--work-dir', default='work_dirs/quickstart')
    args = p.parse_args(argv)
    from .pipeline import main as pipeline_main

    return pipeline_main(['run', str(config_path(CONFIG)), '--work-dir', args.work_dir])


if __name__ == '__main__':
    sys.exit(main())
