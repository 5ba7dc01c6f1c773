"""Make a config's dataset exist before a job starts (``prepare_data`` in configs).

Search and pipeline configs may carry::

    prepare_data = dict(type='synthetic', out='data/synthetic', num_train=200, num_val=50,
                        image_size=(320, 240))
    prepare_data = dict(type='convert', src='../shared/data/bccd', out='data/bccd')

so that one command runs from a fresh checkout. Existing outputs are reused.
"""
from pathlib import Path
from typing import Optional

from .synthetic import SyntheticConfig, generate


def prepare_data(spec: Optional[dict]) -> Optional[Path]:
    """Generate or convert the dataset described by ``spec``; returns its folder.

    Raises:
        ValueError: an unknown ``type``.
        smnas.data.DatasetError: the conversion failed (message names the file).
    """
    if not spec:
        return None
    spec = dict(spec)
    kind = spec.pop('type')
    out = Path(spec.pop('out'))
    if kind == 'synthetic':
        for key in ('image_size', 'objects', 'scale'):
            if key in spec:
                spec[key] = tuple(spec[key])
        if 'classes' in spec:
            spec['classes'] = tuple(spec['classes'])
        generate(SyntheticConfig(**spec), out)
        return out
    if kind == 'convert':
        if (out / 'annotations' / 'instances_train.json').is_file():
            return out
        from .cli import main as convert_main

        args = [str(spec.pop('src')), '--out', str(out)]
        for key, value in spec.items():
            flag = '--' + key.replace('_', '-')
            args += [flag] if value is True else ([] if value is False else [flag, str(value)])
        if convert_main(args) != 0:
            from .convert import DatasetError
            raise DatasetError(f'converting {args[0]} failed (see the message above)')
        return out
    raise ValueError(f"prepare_data type must be 'synthetic' or 'convert', got {kind!r}")
