"""What the viewer says about a map beyond its settings (numpy only, no widgets): a map
that is zero (or one value) everywhere, with why and what to try, and the other methods
whose cached map for the same image, class and layer is the same picture."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from cam_widgets.viewer.explainer import Explanation

#: two maps are "the same" when no pixel of their [0, 1] maps differs by more than this
#: (a quarter of one of the colormap's 256 steps: the pictures are identical)
SAME_MAP_TOLERANCE = 1e-3
#: a map whose [0, 1] values span less than this is flat: one colour everywhere
FLAT_SPAN = 1e-6


def is_flat(e: Explanation) -> bool:
    """Whether the map shows one colour everywhere (nothing stands out)."""
    return e.map.size == 0 or float(e.map.max() - e.map.min()) < FLAT_SPAN


def _tries(e: Explanation, method: Any, callable_target: bool) -> list[str]:
    """What to try instead, from the method's contract and its declared options."""
    given = dict(e.settings.options)
    tries = []
    if method.class_specific and not callable_target:
        tries.append("another class")
    if method.uses_layer:
        tries.append("another layer")
    names = {option.name: option for option in method.options}
    if "max_channels" in names and given.get("max_channels") is None:
        tries.append("max_channels (fewer channels: those of largest variance)")
    score = names.get("score")
    if score is not None and score.choices and "logit" in score.choices \
            and given.get("score", score.default) != "logit":
        tries.append('score="logit" (a saturated softmax hides the masks\' differences)')
    return tries


ZERO_MAP, ONE_VALUE_MAP = "the map is 0 everywhere", "the map has one value everywhere"


def flat_map_summary(e: Explanation) -> str:
    """ZERO_MAP or ONE_VALUE_MAP for a flat map (the saved picture's note), empty for a
    map with something to see."""
    if not is_flat(e):
        return ""
    peak = 0.0 if e.values is None or not e.values.size else float(np.abs(e.values).max())
    return ZERO_MAP if peak == 0.0 else ONE_VALUE_MAP


def flat_map_note(e: Explanation, method: Any) -> str:
    """One line for the status line when the map is zero (or one value) everywhere:
    why, and what to try (empty for a map with something to see)."""
    summary = flat_map_summary(e)
    if not summary:
        return ""
    if summary == ONE_VALUE_MAP:
        why = summary + ": nothing stands out"
    elif method.uses_layer and not e.signed:
        why = (summary + ": at this layer no location's weighted sum of channels is above "
               "0 (every channel weight lowers the class score, or the weights are zero: "
               "an untrained model does this), and the ReLU keeps only what is above 0")
    else:
        why = (summary + ": by this method no pixel changes the class score (zero "
               "gradients: a saturated or untrained model does this)")
    tries = _tries(e, method, callable(e.settings.target))
    return why + (f"; try {', '.join(tries)}" if tries else "")


def _same_view(a: Explanation, b: Explanation, uses_layer: bool) -> bool:
    """Same image, input, class, guided setting and region (and layer, for layer
    methods): only the method (and its options) differ."""
    sa, sb = a.settings, b.settings
    same = (sa.image_index, sa.input_index, sa.target, bool(sa.guided), sa.region) == (
        sb.image_index, sb.input_index, sb.target, bool(sb.guided), sb.region)
    return same and (not uses_layer or sa.layer == sb.layer)


def same_maps(e: Explanation, cached: Iterable[Explanation],
              uses_layer: Any) -> list[str]:
    """The methods (other than `e`'s) whose cached map of the same view is the same
    picture as `e`'s, within `SAME_MAP_TOLERANCE`; flat maps are left out (their own
    note says why). `uses_layer(method) -> bool` from the method contracts."""
    if is_flat(e) or callable(e.settings.target):
        return []
    mine = uses_layer(e.settings.method)
    found: list[str] = []
    for other in cached:
        name = other.settings.method
        if name == e.settings.method or name in found or uses_layer(name) != mine:
            continue
        if not _same_view(e, other, mine) or other.map.shape != e.map.shape or is_flat(other):
            continue
        if float(np.abs(other.map - e.map).max()) <= SAME_MAP_TOLERANCE:
            found.append(name)
    return found


__all__ = ["SAME_MAP_TOLERANCE", "flat_map_note", "is_flat", "same_maps"]
