"""Bilingual (EN/IT) mention → department classifier: normalisation, features, training, registry.

Submodules are imported on demand (``from routing_models.registry import load``) so that importing
the package stays cheap.  This package never imports ``inbox`` or ``connectors``.
"""

__all__ = [
    "build_default",
    "calibration",
    "data",
    "evaluate",
    "fake",
    "features",
    "lang",
    "lexicon",
    "model",
    "normalize",
    "pipeline",
    "registry",
    "select",
    "train",
]
