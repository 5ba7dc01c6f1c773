"""Generate the synthetic shapes dataset (logic in smnas.data.synthetic).

    python tools/make_synthetic.py --out data/synthetic --train 200 --val 50 --size 320 240
"""
import sys

from smnas.data.synthetic import main

if __name__ == '__main__':
    sys.exit(main())
