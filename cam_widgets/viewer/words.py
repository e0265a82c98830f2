"""The viewer's words: the class picker's entries, top-5 buttons, the explained class,
the map's caption, the status line and the figure's caption lines."""

from __future__ import annotations

import html
import re
from typing import Any

import ipywidgets as widgets
import numpy as np

from cam_widgets.viewer.compose import format_value
from cam_widgets.viewer.explainer import Explanation
from cam_widgets.kernel.targets import looks_like_probabilities
from cam_widgets.viewer.labels import layer_size, method_caption

_INDEX = re.compile(r"\((\d+)\)\s*$|^\s*(\d+)\s*$")


class Words:
    """Text for one viewer (reads the wiring's viewer, layers and class names)."""

    def __init__(self, wiring: Any) -> None:
        self.wiring = wiring
        self.buttons = [widgets.Button(layout=widgets.Layout(width="auto", max_width="100%"))
                        for _ in range(5)]
        for rank, button in enumerate(self.buttons):
            button.on_click(lambda _, rank=rank: self._pick(rank))
        self.top5 = widgets.Box(self.buttons, layout=widgets.Layout(
            flex_flow="row wrap", display="none"))
        self._top: list[int] = []
        self.shown: Explanation | None = None

    # ------------------------------------------------------------------ classes
    def name(self, index: int) -> str:
        return self.wiring.viewer.class_names(int(index), self.wiring.n_classes)

    def named(self, index: int) -> str:
        """"tabby (281)" or, without a name, "class 281"."""
        name = self.name(index)
        return name if name == f"class {int(index)}" else f"{name} (class {int(index)})"

    def class_text(self, target: Any) -> Any:
        if target is None or callable(target):
            return ""
        name = self.name(target)
        return name if name == f"class {int(target)}" else f"{name} ({int(target)})"

    def parse_class(self, text: str) -> Any:
        """"name (3)", "3" or an exact name -> 3; anything else leaves the class alone."""
        from cam_widgets.viewer.controls import ignore

        found = _INDEX.search(text or "")
        if found:
            return int(found.group(1) or found.group(2))
        for index in range(self.wiring.n_classes or 0):
            if self.name(index) == text.strip():
                return index
        return ignore()

    def fill_classes(self) -> None:
        n = self.wiring.n_classes or 0
        self.wiring.controls["target"].options = tuple(self.class_text(i) for i in range(n))

    def _pick(self, rank: int) -> None:
        if rank < len(self._top) and not self.wiring.controls["target"].disabled:
            self.wiring.viewer.target = self._top[rank]

    # ------------------------------------------------------------------ after a map
    def describe(self, e: Explanation | None = None) -> str:
        s = e.settings if e is not None else self.wiring.viewer.settings
        method = self.wiring.kernel.get_method(s.method)
        parts = [s.method + (" + guided ReLU" if s.guided and not method.forces_guided else "")]
        if callable(s.target):
            parts.append(f"target {getattr(s.target, '__name__', 'callable')}")
        elif s.target is not None:
            parts.append(self.named(s.target))
        if self.wiring.dense is not None and not callable(s.target):
            parts.append(region_words(s.region))
        if method.uses_layer and s.layer is not None:
            sizes = {i.path: layer_size(i) for i in self.wiring.all_layers}
            size = sizes.get(s.layer, "")
            parts.append(f"layer {s.layer}" + (f" ({size})" if size else ""))
        return " · ".join(parts)

    def explained(self, e: Explanation | None) -> None:
        self.shown = e
        w = self.wiring
        if e is None:
            w.class_label.value = w.caption.value = ""
            self.top5.layout.display = "none"
            return
        s = e.settings
        if callable(s.target):
            name = getattr(s.target, "__name__", "callable target")
            w.class_label.value = f"target <b>{html.escape(name)}</b> · score {e.score:.4g}"
        else:
            name = self.name(e.target)
            index = "" if name == f"class {e.target}" else f" (class {e.target})"
            w.class_label.value = f"explaining <b>{html.escape(name)}</b>{index} · " \
                f"{html.escape(self._score_text(e))}"
        signed = e.signed
        w.caption.value = f"<small>{html.escape(method_caption(w.kernel.get_method(s.method), signed))}</small>"
        self._top5(e)
        took = "cached" if e.source == "cached" else f"{e.seconds * 1000:.0f} ms, {e.source}"
        fitted = w.session.images.notices.get(s.image_index, "") if w.session.images else ""
        notes = [n for n in (e.note, fitted, w.viewer.class_names.notice) if n]
        w.status.value = html.escape(" · ".join([self.describe(e), took, *notes]))

    def _score_text(self, e: Explanation) -> str:
        text = f"score {format_value(e.score)}"
        if e.predictions is not None and 0 <= e.target < e.predictions.shape[-1]:
            label = "p" if looks_like_probabilities(e.predictions[None]) else "output"
            if self.wiring.dense is not None:
                label = "pixel share"
            text += f" · {label} {format_value(float(e.predictions[e.target]))}"
        return text

    def _top5(self, e: Explanation) -> None:
        show = e.predictions is not None and not callable(e.settings.target) \
            and e.predictions.size > 1
        self.top5.layout.display = None if show else "none"
        if not show:
            return
        order = [int(i) for i in np.argsort(-e.predictions, kind="stable")[: len(self.buttons)]]
        if 0 <= e.target < e.predictions.size and e.target not in order:
            order[-1] = e.target  # the explained class keeps a button, in the top 5 or not
        self._top = order
        for button, index in zip(self.buttons, order):
            button.description = f"{self.name(index)} {format_value(float(e.predictions[index]))}"
            button.button_style = "info" if index == e.target else ""
            button.tooltip = f"explain class {index}"
            button.layout.display = None
        for button in self.buttons[len(order):]:
            button.layout.display = "none"

    def figure_captions(self) -> list[str]:
        e = self.shown
        if e is None:
            return [self.wiring.error_text or "no map"]
        s = e.settings
        if callable(s.target):
            first = f"target {getattr(s.target, '__name__', 'callable')} · score {e.score:.4g}"
        else:
            first = f"{self.named(e.target)} · {self._score_text(e)}"
        method = self.wiring.kernel.get_method(s.method)
        return [first, self.describe(e), method_caption(method, e.signed)]


def region_words(region: tuple[int, int, int, int] | None) -> str:
    """Where a segmentation class is explained: its predicted pixels or a drawn region."""
    if region is None:
        return "over its predicted region"
    x0, y0, x1, y1 = region
    return f"over region x {x0}-{x1}, y {y0}-{y1}"
