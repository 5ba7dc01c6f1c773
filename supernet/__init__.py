"""supernet: dynamic ops, searchable mmdet models, subnet sampling and export for the
modular stage of SM-NAS (one slimmable weight-sharing supernet trained once).

The subpackages (``supernet.ops``, ``supernet.models``, sampling and export) arrive
with the modular stage; this package is importable so that installs and configs can
already name it.
"""
