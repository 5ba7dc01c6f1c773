"""The import contract: layers go one way, and importing has no side effects.

``supernet/`` is the lower layer (torch, mmcv, mmdet, mmengine and itself only);
``smnas/`` builds on it; ``tools/`` and ``benchmarks/`` sit on top. Every import
statement is read from the source (those inside functions included), so a lazy
import cannot sneak a dependency the wrong way.
"""
import ast
import subprocess
import sys
from pathlib import Path

import pytest

from smnas.utils.paths import REPO_ROOT

# What each package may import besides the standard library and itself. thop is the
# FLOPs convention the per-layer table reproduces (it refuses layers thop would count).
# smnas.deploy exports to ONNX and runs it with onnxruntime, resizing with OpenCV.
ALLOWED = {
    'supernet': {'torch', 'mmcv', 'mmdet', 'mmengine', 'thop'},
    'smnas': {'torch', 'torchvision', 'mmcv', 'mmdet', 'mmengine', 'thop', 'supernet', 'optuna',
              'numpy', 'PIL', 'yaml', 'pycocotools', 'matplotlib', 'scipy', 'onnx', 'onnxruntime', 'cv2'},
}


def imported_roots(path: Path):
    """(line, top-level module) of every absolute import in ``path``."""
    tree = ast.parse(path.read_text(), str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name.split('.')[0]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.lineno, node.module.split('.')[0]


def violations(package: str, root_dir: Path = REPO_ROOT):
    """``file:line imports X`` for every import of ``package`` outside its allowance."""
    out = []
    for path in sorted((root_dir / package).rglob('*.py')):
        for line, root in imported_roots(path):
            if root != package and root not in sys.stdlib_module_names and root not in ALLOWED[package]:
                out.append(f'{path.relative_to(root_dir)}:{line} imports {root}')
    return out


@pytest.mark.parametrize('package', sorted(ALLOWED))
def test_packages_import_only_the_layers_below_them(package):
    assert violations(package) == []


def test_the_contract_catches_an_upward_import_inside_a_function(tmp_path):
    fake = tmp_path / 'supernet'
    fake.mkdir()
    (fake / 'bad.py').write_text('import torch\n\n\ndef f():\n    from smnas.engine import checkpoint\n')
    assert violations('supernet', tmp_path) == ['supernet/bad.py:5 imports smnas']


def _modules_after(code: str) -> set:
    out = subprocess.run([sys.executable, '-c', code + '\nimport sys\nprint(" ".join(sys.modules))'],
                         capture_output=True, text=True, check=True, cwd=REPO_ROOT)
    return set(out.stdout.split())


@pytest.mark.parametrize('code', ['import supernet', 'from supernet.space import Subnet', 'import smnas',
                                  'from supernet.errors import RuleViolation'])
def test_importing_the_packages_pulls_in_no_mmdet_and_patches_nothing(code):
    loaded = _modules_after(code)
    assert not {m for m in loaded if m.split('.')[0] in ('mmdet', 'mmcv', 'mmengine')}


def test_registration_is_explicit():
    loaded = _modules_after('import smnas.register\nimport mmcv.ops.masked_conv as m\n'
                            'assert getattr(m.masked_conv2d, "_smnas_fallback", False)\n'
                            'from mmdet.registry import MODELS\nassert MODELS.get("SandwichSupernet")')
    assert 'supernet.models' in loaded
