"""Convert a Pascal VOC or YOLO dataset to COCO JSON (logic in smnas.data.cli).

    python tools/convert_dataset.py ../shared/data/bccd --out data/bccd
    python tools/convert_dataset.py ../shared/data/raccoon --out data/raccoon
    python tools/convert_dataset.py DATASET --format yolo --out data/mine --skip-missing
"""
import sys

from smnas.data.cli import main

if __name__ == '__main__':
    sys.exit(main())
