"""Checks of the settings a `CamViewer` takes (its traits): each returns the value to
keep, or raises a ValueError (a TypeError for a wrong kind) that names what was wrong and
what would be right."""

from __future__ import annotations

import difflib
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


def classes(value: Any) -> int:
    """How many top classes an export holds: an int >= 1."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"classes must be an int >= 1 (how many top classes), got {value!r}")
    if value < 1:
        raise ValueError(f"classes must be >= 1 (how many top classes), got {value}")
    return int(value)


def layers(value: Any, known: list[str]) -> list[str]:
    """Layer paths to export: each one of `known` (the model's spatial layers), else a
    ValueError with the close matches."""
    if isinstance(value, str) or not hasattr(value, "__iter__"):
        raise TypeError(f"layers must be None or a list of layer paths, got {value!r}")
    chosen = [str(path) for path in value]
    if not chosen:
        raise ValueError("layers is empty: give None (the layer menu's layers) or some paths")
    for path in chosen:
        if path not in known:
            close = difflib.get_close_matches(path, known, n=3, cutoff=0.5)
            hint = f"; did you mean {close}?" if close else f"; the spatial layers: {known}"
            raise ValueError(f"unknown layer {path!r}{hint}")
    return chosen
