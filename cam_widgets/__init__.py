"""cam_widgets: see where a Keras image model looks, in a notebook or in code."""
from cam_widgets.kernel import ExplainResult, LayerInfo, explain, explain_dataset, list_layers

__all__ = ["CamViewer", "ExplainResult", "LayerInfo", "explain", "explain_dataset",
           "list_layers"]


def __getattr__(name: str):
    # The widget stack (ipywidgets, ipycanvas) loads only when the viewer is asked for.
    if name == "CamViewer":
        from cam_widgets.viewer import CamViewer

        return CamViewer
    raise AttributeError(f"module 'cam_widgets' has no attribute {name!r}")
