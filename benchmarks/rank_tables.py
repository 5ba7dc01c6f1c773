"""Print the rank-fidelity record's tables as Markdown, for ``benchmarks/README.md``: where
the issue's goals stand, the from-scratch truth, every recipe against it, and each recipe's
tau corrected for the truth's noise (``smnas.benchmarks.rank_tables``).

    .venv/bin/python benchmarks/rank_tables.py                       # every table
    .venv/bin/python benchmarks/rank_tables.py --tables recipes --reference no_extremes
    # the README's tables (between its <!-- rank_tables:NAME --> markers) printed anew, the
    # projections checked against the record of the previous truth (from git):
    git show COMMIT:benchmarks/results/rank_fidelity.json > /tmp/previous.json
    .venv/bin/python benchmarks/rank_tables.py --reference no_extremes --previous /tmp/previous.json \
        --write benchmarks/README.md
"""
import argparse
import json
from pathlib import Path

from smnas.benchmarks.rank_tables import TABLES, projection_table, recipe_table, write_tables
from smnas.utils.io import atomic_write_text


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('record', nargs='?', type=Path, default=Path('benchmarks/results/rank_fidelity.json'),
                   help='the record bench_rank_fidelity.py writes (default: %(default)s)')
    p.add_argument('--tables', nargs='+', choices=list(TABLES), default=list(TABLES),
                   help='which tables, in this order (default: all; with --write, those its markers name)')
    p.add_argument('--reference', nargs='*', default=[],
                   help='recipes to pair every recipe with besides the default (a column each)')
    p.add_argument('--previous', type=Path,
                   help='the record of an earlier truth of fewer seeds: the projected table gets its '
                        'projection to this truth and the measured minus projected tau')
    p.add_argument('--write', type=Path, metavar='MARKDOWN',
                   help='replace the tables between this file\'s <!-- rank_tables:NAME --> and '
                        '<!-- /rank_tables:NAME --> markers instead of printing')
    args = p.parse_args()
    record = json.loads(args.record.read_text())
    previous = json.loads(args.previous.read_text()) if args.previous else None

    def table(name: str) -> str:
        if name == 'recipes':
            return recipe_table(record, args.reference)
        return projection_table(record, previous) if name == 'projected' else TABLES[name](record)

    if args.write:
        try:
            text = write_tables(args.write.read_text(), table)
        except ValueError as e:  # a marker without its table or its end, a --previous of as many seeds
            p.error(f'{args.write}: {e}')
        atomic_write_text(args.write, text)  # a failed run leaves the README as it was
        print(f'{args.write}: tables written')
        return
    for name in args.tables:
        print(table(name))
        print()


if __name__ == '__main__':
    main()
