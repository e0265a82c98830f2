"""CamViewer: an ipywidgets view of where a Keras image model looks (see `facade`)."""

from __future__ import annotations

from cam_widgets.viewer.facade import CamViewer

__all__ = ["CamViewer"]
