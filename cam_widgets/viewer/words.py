"""The viewer's words: the class picker's entries, the explained class, the map's
caption, the status line, the figure's caption lines and the top-5 buttons (class names
themselves come from `cam_widgets.class_names`)."""

from __future__ import annotations

import difflib
import html
import re
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import ipywidgets as widgets
import numpy as np

from cam_widgets.class_names import ClassNames
from cam_widgets.viewer import map_notes
from cam_widgets.viewer.compose import format_value
from cam_widgets.viewer.explainer import Explanation
from cam_widgets.viewer.state import Settings

if TYPE_CHECKING:
    from cam_widgets.viewer.model_facts import ModelFacts

_INDEX = re.compile(r"\((\d+)\)\s*$|^\s*(\d+)\s*$")
_SIGNED_SUFFIX = "; with guided ReLU the map is signed: red raises the score, blue lowers it"


def layer_size(info: Any) -> str:
    """A layer's spatial size for menus: "14×14", or "8×8 tokens" for a token layer (its
    patch grid, `LayerInfo.grid`), rather than its (tokens, width) shape."""
    if getattr(info, "grid", None) is not None:
        return f"{info.grid[0]}×{info.grid[1]} tokens"
    return "×".join(map(str, info.output_shape[1:3]))


def method_caption(method: Any, signed: bool) -> str:
    """One line saying what the map of `method` means (its contract's `caption`), and
    that it is signed when guided gradients made it so."""
    if signed and not method.signed_map(False):
        return method.caption + _SIGNED_SUFFIX
    return method.caption


def region_words(region: tuple[int, int, int, int] | None) -> str:
    """Where a segmentation class is explained: its predicted pixels or a drawn region."""
    if region is None:
        return "over its predicted region"
    x0, y0, x1, y1 = region
    return f"over region x {x0}-{x1}, y {y0}-{y1}"


def _callable_name(target: Any, fallback: str = "callable") -> str:
    return getattr(target, "__name__", fallback)


def download_name(class_name: str | None, method: str, layer: str | None) -> str:
    """`cam_<class>_<method>_<layer>.png`, each part reduced to letters, digits, '-' and
    '.' (runs of anything else become one '_'); a missing part is left out."""
    parts = ["cam", *(re.sub(r"[^A-Za-z0-9.-]+", "_", str(part)).strip("_.")
                      for part in (class_name, method, layer) if part)]
    return "_".join(part for part in parts if part) + ".png"


class Words:
    """The text of one viewer, from its class names, what was read of its model and the
    kernel's method contracts (`kernel.get_method`, `kernel.looks_like_probabilities`)."""

    def __init__(self, class_names: ClassNames, facts: ModelFacts, kernel: Any) -> None:
        self.class_names, self.facts, self.kernel = class_names, facts, kernel
        self._said_names_notice = False  # the class names' notice goes in one status line

    # ------------------------------------------------------------------ classes
    def name(self, index: int) -> str:
        return self.class_names(int(index), self.facts.n_classes)

    def named(self, index: int) -> str:
        """"tabby (class 281)" or, without a name, "class 281"."""
        name = self.name(index)
        return name if name == f"class {int(index)}" else f"{name} (class {int(index)})"

    def class_text(self, target: Any) -> str:
        """The class picker's entry for `target`: "tabby (281)", "class 281", or ""."""
        if target is None or callable(target):
            return ""
        name = self.name(target)
        return name if name == f"class {int(target)}" else f"{name} ({int(target)})"

    def parse_class(self, text: str) -> int | None:
        """"name (3)", "3" or an exact name -> 3; None for anything else."""
        found = _INDEX.search(text or "")
        if found:
            return int(found.group(1) or found.group(2))
        for index in range(self.facts.n_classes or 0):
            if self.name(index) == (text or "").strip():
                return index
        return None

    def class_problem(self, text: str, index: int | None) -> str:
        """Why typed `text` (parsed to `index`) names no class, with close matches; ""
        when it names one (or is empty)."""
        n = self.facts.n_classes
        if not (text or "").strip():
            return ""
        if index is None:
            names = [self.name(i) for i in range(n or 0)]
            close = difflib.get_close_matches(text.strip(), names, n=3, cutoff=0.6)
            hint = f" Did you mean {', '.join(map(repr, close))}?" if close else ""
            span = f" or an index 0-{n - 1}" if n else " or an index"
            return f"no class {text.strip()!r}: type a name from the list{span}.{hint}"
        if n is not None and index >= n:
            return f"no class {index}: this model has {n} classes (0-{n - 1})."
        return ""

    def class_entries(self) -> tuple[str, ...]:
        """Every class as the picker lists it."""
        return tuple(self.class_text(i) for i in range(self.facts.n_classes or 0))

    # ------------------------------------------------------------------ a map's words
    def describe(self, s: Settings) -> str:
        """"gradcam · tabby (class 281) · layer conv5 (7×7)": what `s` explains."""
        method = self.kernel.get_method(s.method)
        parts = [s.method + (" + guided ReLU" if s.guided and not method.forces_guided else "")]
        if callable(s.target):
            parts.append(f"target {_callable_name(s.target)}")
        elif s.target is not None:
            parts.append(self.named(s.target))
        if self.facts.dense is not None and not callable(s.target):
            parts.append(region_words(s.region))
        if method.uses_layer and s.layer is not None:
            size = self.facts.layer_sizes().get(s.layer, "")
            parts.append(f"layer {s.layer}" + (f" ({size})" if size else ""))
        return " · ".join(parts)

    def class_line(self, e: Explanation) -> str:
        """HTML: the class (or callable target) explained, with its score."""
        if callable(e.settings.target):
            name = _callable_name(e.settings.target, "callable target")
            return f"target <b>{html.escape(name)}</b> · score {e.score:.4g}"
        name = self.name(e.target)
        index = "" if name == f"class {e.target}" else f" (class {e.target})"
        return f"explaining <b>{html.escape(name)}</b>{index} · {html.escape(self.score_text(e))}"

    def caption(self, e: Explanation, same_as: Sequence[str] = ()) -> str:
        """HTML: what a bright pixel of this map means, and the methods whose map is the
        same picture for this model (`map_notes.same_maps`)."""
        method = self.kernel.get_method(e.settings.method)
        text = method_caption(method, e.signed)
        if same_as:
            text += f" · same map as {', '.join(same_as)} for this model"
        return f"<small>{html.escape(text)}</small>"

    def status(self, e: Explanation, notices: Sequence[str]) -> str:
        """HTML: what was explained, how long it took, and any `notices` (the class
        names' own notice, e.g. ImageNet names offline, only the first time)."""
        took = "cached" if e.source == "cached" else f"{e.seconds * 1000:.0f} ms, {e.source}"
        names_notice = "" if self._said_names_notice else self.class_names.notice
        self._said_names_notice = bool(names_notice) or self._said_names_notice
        notes = [n for n in (e.note, *notices, names_notice) if n]
        return html.escape(" · ".join([self.describe(e.settings), took, *notes]))

    def score_text(self, e: Explanation) -> str:
        text = f"score {format_value(e.score)}"
        if (e.predictions is not None and e.predictions.shape[-1] == 1
                and self.facts.n_classes == 2 and e.target in (0, 1)):  # a sigmoid head's p
            p = float(e.predictions[0])
            return text + f" · p {format_value(p if e.target == 1 else 1.0 - p)}"
        if e.predictions is not None and 0 <= e.target < e.predictions.shape[-1]:
            label = "p" if self.kernel.looks_like_probabilities(e.predictions[None]) else "output"
            if self.facts.dense is not None:
                label = "pixel share"
            text += f" · {label} {format_value(float(e.predictions[e.target]))}"
        return text

    def file_name(self, e: Explanation | None) -> str:
        """The download's name: `cam_<class>_<method>_<layer>.png` (`download_name`; no
        layer for a method that uses none)."""
        if e is None:
            return "cam_view.png"
        s = e.settings
        layer = s.layer if self.kernel.get_method(s.method).uses_layer else None
        return download_name("target" if callable(s.target) else self.name(e.target),
                             s.method, layer)

    def figure_captions(self, e: Explanation | None, error: str,
                        same_as: Sequence[str] = ()) -> list[str]:
        """The snapshot's caption lines (`error`, or "no map", when nothing is shown),
        with a last line saying when the map is flat or the same picture as other
        methods' (`same_as`), as the page does."""
        if e is None:
            return [error or "no map"]
        s = e.settings
        if callable(s.target):
            first = f"target {_callable_name(s.target)} · score {e.score:.4g}"
        else:
            first = f"{self.named(e.target)} · {self.score_text(e)}"
        method = self.kernel.get_method(s.method)
        lines = [first, self.describe(s), method_caption(method, e.signed)]
        same = f"same map as {', '.join(same_as)} for this model" if same_as else ""
        notes = [note for note in (map_notes.flat_map_summary(e), same) if note]
        if notes:
            lines.append("note: " + "; ".join(notes))
        return lines


class TopClasses:
    """Five buttons naming the map's most likely classes: a click explains that class."""

    def __init__(self, name: Callable[[int], str], pick: Callable[[int], None]) -> None:
        self._name, self._pick = name, pick
        self.buttons = [widgets.Button(layout=widgets.Layout(width="auto", max_width="100%"))
                        for _ in range(5)]
        for rank, button in enumerate(self.buttons):
            button.on_click(lambda _, rank=rank: self._clicked(rank))
        self.box = widgets.Box(self.buttons, layout=widgets.Layout(
            flex_flow="row wrap", display="none"))
        self._top: list[int] = []

    def _clicked(self, rank: int) -> None:
        if rank < len(self._top):
            self._pick(self._top[rank])

    def show(self, e: Explanation | None) -> None:
        """The top classes of `e`'s predictions (none for a callable target)."""
        show = e is not None and e.predictions is not None \
            and not callable(e.settings.target) and e.predictions.size > 1
        self.box.layout.display = None if show else "none"
        if not show:
            return
        order = [int(i) for i in np.argsort(-e.predictions, kind="stable")[: len(self.buttons)]]
        if 0 <= e.target < e.predictions.size and e.target not in order:
            order[-1] = e.target  # the explained class keeps a button, in the top 5 or not
        self._top = order
        for button, index in zip(self.buttons, order):
            button.description = f"{self._name(index)} {format_value(float(e.predictions[index]))}"
            button.button_style = "info" if index == e.target else ""
            button.tooltip = f"explain class {index}"
            button.layout.display = None
        for button in self.buttons[len(order):]:
            button.layout.display = "none"
