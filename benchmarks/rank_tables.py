"""Print the rank-fidelity record's tables as Markdown, for ``benchmarks/README.md``: the
from-scratch truth, every recipe against it, and each recipe's tau corrected for the
truth's noise (``smnas.benchmarks.rank_tables``).

    .venv/bin/python benchmarks/rank_tables.py                       # every table
    .venv/bin/python benchmarks/rank_tables.py --tables recipes --reference no_extremes
"""
import argparse
import json
from pathlib import Path

from smnas.benchmarks.rank_tables import TABLES, recipe_table


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('record', nargs='?', type=Path, default=Path('benchmarks/results/rank_fidelity.json'),
                   help='the record bench_rank_fidelity.py writes (default: %(default)s)')
    p.add_argument('--tables', nargs='+', choices=list(TABLES), default=list(TABLES),
                   help='which tables, in this order (default: all)')
    p.add_argument('--reference', nargs='*', default=[],
                   help='recipes to pair every recipe with besides the default (a column each)')
    args = p.parse_args()
    record = json.loads(args.record.read_text())
    for name in args.tables:
        print(recipe_table(record, args.reference) if name == 'recipes' else TABLES[name](record))
        print()


if __name__ == '__main__':
    main()
