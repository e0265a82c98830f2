"""Words the viewer shows: the caption of each method's map, layer sizes (class names:
`cam_widgets.class_names`, shared with the gallery)."""

from __future__ import annotations

from typing import Any

from cam_widgets.viewer.compose import format_value

_SIGNED_SUFFIX = "; with guided ReLU the map is signed: red raises the score, blue lowers it"


def method_caption(method: Any, signed: bool) -> str:
    """One line saying what the map of `method` means (its contract's `caption`), and
    that it is signed when guided gradients made it so."""
    if signed and not method.signed_map(False):
        return method.caption + _SIGNED_SUFFIX
    return method.caption


def layer_size(info: Any) -> str:
    """A layer's spatial size for menus: "14×14", or "8×8 tokens" for a token layer (its
    patch grid, `LayerInfo.grid`), rather than its (tokens, width) shape."""
    if getattr(info, "grid", None) is not None:
        return f"{info.grid[0]}×{info.grid[1]} tokens"
    return "×".join(map(str, info.output_shape[1:3]))


def probability_text(value: float) -> str:
    return format_value(float(value))
