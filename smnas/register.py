"""Registration of smnas and supernet with mmdet and mmengine: explicit and idempotent.

Configs name this module in ``custom_imports`` (``dict(imports=['smnas.register'])``),
so that mmengine's ``Config.fromfile`` and mmdet's own tools find our types; code that
builds models without a config calls :func:`register_all_modules`. Importing
``smnas`` or ``supernet`` themselves registers nothing and imports no mmdet.
"""

__all__ = ['register_all_modules']


def register_all_modules() -> None:
    """Register every type smnas and supernet define, and install what runs beside them.

    * supernet's searchable and static models, the sandwich algorithm and its DDP
      wrapper, the subnets val loop and the checkpoint hook;
    * smnas's dataset, hooks, the search's ``RankingCocoMetric`` and the
      ``StructureSupernet`` architecture macro;
    * CPU fallbacks of mmcv ops that only have accelerator kernels
      (:func:`smnas.ops.install_cpu_fallbacks`), and mmengine's local checkpoint
      loader fixed for torch >= 2.6 (:func:`smnas.engine.install_checkpoint_loader`).
    """
    import supernet

    from . import data, engine, ops  # noqa: F401  the dataset and hooks register on import
    from .evaluation import ranking_metric  # noqa: F401  the search's lean COCO metric
    from .modular import structure  # noqa: F401  the StructureSupernet macro

    supernet.register_all_modules()
    ops.install_cpu_fallbacks()
    engine.install_checkpoint_loader()


register_all_modules()
