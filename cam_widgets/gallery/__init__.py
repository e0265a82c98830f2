"""CamGallery: browse many explanations as a paged, sortable, filterable thumbnail grid.

data (rows as numpy columns) -> state (which rows, which page) -> compose (pixels) ->
transport (ipycanvas); `widget` is the thin face with traitlet settings.
"""
from __future__ import annotations

from cam_widgets.gallery.widget import CamGallery

__all__ = ["CamGallery"]
