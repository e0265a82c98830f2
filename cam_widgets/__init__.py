"""cam_widgets: see where a Keras image model looks, in a notebook or in code.

The public names load on first use, so `cam_widgets.render` (numpy/PIL only) can be
imported without TensorFlow, and the widget stack loads only for `CamViewer`.
"""
from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cam_widgets.kernel import ExplainResult, LayerInfo, explain, explain_dataset, list_layers
    from cam_widgets.kernel.methods import methods
    from cam_widgets.viewer import CamViewer

_HOMES = {
    "CamViewer": "cam_widgets.viewer",
    "ExplainResult": "cam_widgets.kernel",
    "LayerInfo": "cam_widgets.kernel",
    "explain": "cam_widgets.kernel",
    "explain_dataset": "cam_widgets.kernel",
    "list_layers": "cam_widgets.kernel",
    "methods": "cam_widgets.kernel.methods",
}
__all__ = list(_HOMES)


def __getattr__(name: str) -> Any:
    if name in _HOMES:
        return getattr(importlib.import_module(_HOMES[name]), name)
    raise AttributeError(f"module 'cam_widgets' has no attribute {name!r}")
