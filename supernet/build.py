"""The searchable detector of a supernet config: a plain mmdet model dict, or a named
*architecture macro* that expands to one.

A macro keeps configs short and their widths consistent: a higher layer registers a
function that builds the whole searchable model dict from a few keys and the modular
space (the modular stage registers ``StructureSupernet``: a detector around a
structure of the structural stage). This module knows no macro itself, so it
depends on nothing above it.
"""
import inspect
from typing import Callable, Dict, Optional

from .space import ModularSpace

#: macro name -> ``fn(space, **keys) -> model dict``
ARCHITECTURE_MACROS: Dict[str, Callable[..., dict]] = {}


def register_architecture_macro(name: str):
    """Decorator: register ``fn(space: ModularSpace, **keys) -> dict`` as macro ``name``.

    Args:
        name: the ``type`` a config's ``architecture`` uses to call the macro.

    Returns:
        The decorator (it returns ``fn`` unchanged).
    """
    def deco(fn):
        ARCHITECTURE_MACROS[name] = fn
        return fn
    return deco


def expand_architecture(arch: dict, space: Optional[ModularSpace] = None) -> dict:
    """The full searchable model config of ``arch``: a macro's expansion, or ``arch``
    itself when its type is not a macro.

    Args:
        arch: the ``architecture`` config of a supernet.
        space: the modular space, passed to the macro unless ``arch`` has its own.

    Returns:
        A plain mmdet model dict.

    Raises:
        ValueError: a macro without a space, or with keys it does not take.
    """
    arch = _plain(dict(arch))
    macro = ARCHITECTURE_MACROS.get(arch.get('type'))
    if macro is None:
        return arch
    keys = {k: v for k, v in arch.items() if k not in ('type', 'space')}
    accepted = [n for n in inspect.signature(macro).parameters if n != 'space']
    unknown = sorted(set(keys) - set(accepted))
    if unknown:
        raise ValueError(f'{arch["type"]} takes {", ".join(accepted)} and space; unknown keys: {unknown}')
    if arch.get('space') is not None:
        space = ModularSpace.from_dict(dict(arch['space']))
    if space is None:
        raise ValueError(f'{arch["type"]} needs a space (its own or the supernet\'s)')
    return macro(space, **keys)


def merge_config(base: dict, override: dict) -> dict:
    """``override`` merged into a copy of ``base`` (dicts recursively, other values replaced)."""
    out = dict(base)
    for k, v in override.items():
        out[k] = merge_config(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def _plain(node):
    """ConfigDicts and tuples from configs as plain dicts and lists."""
    if isinstance(node, dict):
        return {k: _plain(v) for k, v in node.items()}
    if isinstance(node, (list, tuple)):
        return [_plain(v) for v in node]
    return node
