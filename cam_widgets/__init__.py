"""cam_widgets: see where a Keras image model looks, in a notebook or in code.

The public names load on first use, so `cam_widgets.render` (numpy/PIL only) can be
imported without TensorFlow, and the widget stack loads only for `CamViewer`. Importing
cam_widgets first keeps TensorFlow's start-up notices out of stderr (`_tf_startup`).
"""
from __future__ import annotations

import importlib
from types import ModuleType
from typing import TYPE_CHECKING, Any

from cam_widgets._tf_startup import quiet_tensorflow_start as _quiet_tensorflow_start
from cam_widgets._version import installed_version as _installed_version

if TYPE_CHECKING:
    from cam_widgets.audit import explain_to_parquet, read_results
    from cam_widgets.compare import CamCompare
    from cam_widgets.gallery import CamGallery
    from cam_widgets.kernel import (
        ExplainResult, LayerInfo, SegmentationTarget, explain, explain_dataset, explain_shared,
        list_layers)
    from cam_widgets.kernel.methods import methods
    from cam_widgets.viewer import CamViewer

_HOMES = {
    "CamCompare": "cam_widgets.compare",
    "CamGallery": "cam_widgets.gallery",
    "CamViewer": "cam_widgets.viewer",
    "ExplainResult": "cam_widgets.kernel",
    "LayerInfo": "cam_widgets.kernel",
    "SegmentationTarget": "cam_widgets.kernel",
    "explain": "cam_widgets.kernel",
    "explain_dataset": "cam_widgets.kernel",
    "explain_shared": "cam_widgets.kernel",
    "list_layers": "cam_widgets.kernel",
    "methods": "cam_widgets.kernel.methods",
    "explain_to_parquet": "cam_widgets.audit",
    "read_results": "cam_widgets.audit",
}
__all__ = list(_HOMES)
__version__: str = _installed_version()
_quiet_tensorflow_start()  # TensorFlow, imported by anyone later, loads without its notices


def __getattr__(name: str) -> Any:
    if name in _HOMES:
        return getattr(importlib.import_module(_HOMES[name]), name)
    raise AttributeError(f"module 'cam_widgets' has no attribute {name!r}")


def __dir__() -> list[str]:
    """What Tab completion offers: the public names (before their first use too), the
    dunders, and the public submodules already imported."""
    names = set(__all__) | {name for name in globals() if name.startswith("__")}
    names |= {name for name, value in globals().items()
              if isinstance(value, ModuleType) and not name.startswith("_")
              and value.__name__ == f"{__name__}.{name}"}
    return sorted(names)
