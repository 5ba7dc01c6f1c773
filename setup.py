"""Packaging for smnas: the ``smnas`` (search, data, evaluation, reports) and
``supernet`` (dynamic ops, searchable models) packages.

mmcv 2.1.0 has no binary wheel for torch 2.14 on the package index; ``install.sh``
builds it once from its sdist (with the C++20 fix), caches the wheel outside the
checkout and installs it before this package, so that the ``mmcv==2.1.0`` pin
below is already satisfied when pip reads it.
"""
import os

from setuptools import find_packages, setup

HERE = os.path.dirname(os.path.abspath(__file__))


def read_version() -> str:
    """Read ``__version__`` from smnas/version.py without importing smnas."""
    scope: dict = {}
    with open(os.path.join(HERE, 'smnas', 'version.py'), encoding='utf-8') as f:
        exec(f.read(), scope)
    return scope['__version__']


# Pinned where the stack is fragile: mmdet 3.3.0 needs mmcv < 2.2 and mmengine
# 0.10.x; mmcv 2.1.0 is built against this exact torch; mmengine 0.10.7 imports
# pkg_resources, which setuptools 81 removed, while torch needs setuptools >= 77.
INSTALL_REQUIRES = [
    'torch==2.14.1',
    'torchvision==0.29.1',
    'mmengine==0.10.7',
    'mmcv==2.1.0',
    'mmdet==3.3.0',
    'setuptools>=77,<81',
    'numpy>=1.26,<3',
    'opencv-python>=4.8',
    'pillow>=10',
    'pyyaml>=6',
    'pycocotools>=2.0.7',
    'ultralytics-thop>=2.0',
    'tensorboard>=2.14',
    'scipy>=1.11',
    'matplotlib>=3.8',
    'shapely>=2.0',
    'terminaltables>=3.1',
    'tqdm>=4.65',
    'optuna>=4.0,<6',
    # deployment: finalists exported to ONNX and timed under onnxruntime
    'onnx>=1.16',
    'onnxruntime>=1.18',
]

EXTRAS_REQUIRE = {
    # several machines on one search: --storage postgresql://... needs a driver
    # (SQLAlchemy 2 takes psycopg 3 for postgresql:// URLs)
    'postgres': ['psycopg[binary]>=3.1'],
    # pytest-xdist: the suite runs in one worker per core (pytest.ini), most of its time being
    # single-threaded tool start-up
    'dev': ['pytest>=8', 'pytest-timeout>=2.3', 'pytest-xdist>=3.5', 'ruff>=0.6', 'psycopg[binary]>=3.1'],
}

setup(
    name='smnas',
    version=read_version(),
    description='SM-NAS: structural-to-modular neural architecture search for '
    'object detection, on mmdetection 3.x',
    long_description=open(os.path.join(HERE, 'README.md'), encoding='utf-8').read(),
    long_description_content_type='text/markdown',
    license='Apache-2.0',
    python_requires='>=3.10',
    packages=find_packages(include=['smnas', 'smnas.*', 'supernet', 'supernet.*']),
    install_requires=INSTALL_REQUIRES,
    extras_require=EXTRAS_REQUIRE,
    entry_points={
        'console_scripts': [
            'smnas-convert-dataset=smnas.data.cli:main',
            'smnas-make-synthetic=smnas.data.synthetic:main',
            'smnas-verify=smnas.verify:main',
            'smnas-quickstart=smnas.quickstart:main',
            'smnas=smnas.pipeline:main',
        ],
    },
    classifiers=[
        'Programming Language :: Python :: 3',
        'Topic :: Scientific/Engineering :: Artificial Intelligence',
    ],
)
