"""Checks of the settings a `CamViewer` takes (its traits): each returns the value to
keep, or raises a ValueError (a TypeError for a wrong kind) that names what was wrong and
what would be right."""

from __future__ import annotations

from typing import Any

import numpy as np

from cam_widgets import render
from cam_widgets.viewer import compose
from cam_widgets.viewer.regions import check_region


def colormap(value: str) -> str:
    if value != compose.AUTO and value not in render.COLORMAPS:
        raise ValueError(
            f"colormap must be 'auto' or one of {list(render.COLORMAPS)}, got {value!r}")
    return value


def scale(value: str) -> str:
    if value not in ("map", "shared"):
        raise ValueError(f"scale expected any of ['map', 'shared'], got {value!r}")
    return value


def opacity(value: float) -> float:
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"opacity must be in [0, 1], got {value}")
    return value


def target(value: Any) -> Any:
    if value is None or callable(value):
        return value
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool) and value >= 0:
        return int(value)
    raise ValueError(f"target must be None, a class index >= 0 or a callable, got {value!r}")


def region(value: Any, segmentation: bool | None) -> Any:
    """A region (`regions.check_region`), only for a segmentation model (None: not
    known yet)."""
    checked = check_region(value)
    if checked is not None and segmentation is False:
        raise ValueError(
            "region applies to segmentation models (one dense output (batch, height, "
            "width, classes)); this model's output names whole-image classes, so there "
            "is no region to choose: leave region=None")
    return checked


def method(kernel: Any, value: str) -> str:
    kernel.get_method(value)  # an unknown name: the registry's error, with close matches
    return value


def layer(kernel: Any, model: Any, value: Any, input_index: int) -> Any:
    """A layer the model has (`resolve_layer`: path, bare name, `path:n`, index or Layer;
    an unknown name: its error, with close matches); None picks the default later."""
    if value is not None:
        kernel.resolve_layer(model, value, input_index)
    return value


def options(kernel: Any, method_name: str, value: dict[str, Any]) -> dict[str, Any]:
    """The method's declared options (`Method.check_options`)."""
    kernel.get_method(method_name).check_options(value)
    return dict(value)
