"""Self-contained HTML pages of explanations (no network, no Python to view them): the
render-side writers that `CamViewer.to_html` and `CamGallery.to_html` feed."""

from __future__ import annotations

from cam_widgets.export.page import MapView, ViewerPage, viewer_html
from cam_widgets.export.thumbnails import Thumbnail, gallery_html

__all__ = ["MapView", "Thumbnail", "ViewerPage", "gallery_html", "viewer_html"]
