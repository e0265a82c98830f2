"""The viewer's controls, built from one table: control -> setting (a trait of CamViewer).

Each control is bound both ways to its setting: moving the control sets the trait, and
setting the trait from code moves the control. What a setting change does (recompute or
repaint) is `state.EFFECTS`, read by the viewer; controls never decide it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import ipywidgets as widgets
from traitlets import HasTraits

from cam_widgets import render
from cam_widgets.viewer.compose import AUTO


def _full() -> widgets.Layout:
    """A fresh full-width layout (a Layout shared by two widgets would hide both). Width
    "auto" stretches the control to its column inside its margins ("100%" plus the
    margins would make the column scroll sideways)."""
    return widgets.Layout(width="auto", min_width="0")


#: label column of every control, method options included: wide enough for the longest
#: option name ("max_channels", "discard_ratio") in the Jupyter UI font
LABEL_STYLE = {"description_width": "108px"}
_STYLE = LABEL_STYLE
WHAT, HOW = "what to explain", "how to show it"


@dataclass(frozen=True)
class Control:
    """One row of the table: the control's name, the setting it drives, its group."""

    name: str
    setting: str
    group: str
    make: Callable[[], widgets.ValueWidget]


def _colormaps() -> list[tuple[str, str]]:
    return [("auto (jet; diverging if signed)", AUTO)] + [(n, n) for n in render.COLORMAPS]


TABLE: tuple[Control, ...] = (
    Control("image", "image_index", WHAT,
            lambda: widgets.IntSlider(0, min=0, max=0, description="image", style=_STYLE,
                                      layout=_full())),
    Control("input", "input_index", WHAT,
            lambda: widgets.Dropdown(options=[("0", 0)], value=0, description="explain input",
                                     style=_STYLE, layout=_full())),
    Control("method", "method", WHAT,
            lambda: widgets.Dropdown(options=["gradcam"], description="method", style=_STYLE,
                                     layout=_full())),
    Control("guided", "guided", WHAT,
            lambda: widgets.Checkbox(False, indent=False, layout=_full(), description="guided ReLU",
                                     tooltip="only positive gradients flow back through ReLUs "
                                             "(Springenberg et al. 2015): a signed, sharper map")),
    Control("layer", "layer", WHAT,
            lambda: widgets.Dropdown(options=[], value=None, description="layer", style=_STYLE,
                                     layout=_full())),
    Control("depth", "layer", WHAT,
            lambda: widgets.IntSlider(0, min=0, max=0, description="depth", style=_STYLE,
                                      readout=False, layout=_full())),
    Control("target", "target", WHAT,
            lambda: widgets.Combobox(placeholder="type a class name or index", options=(),
                                     description="class", ensure_option=False,
                                     continuous_update=False, style=_STYLE, layout=_full())),
    Control("opacity", "opacity", HOW,
            lambda: widgets.FloatSlider(0.5, min=0.0, max=1.0, step=0.05,
                                        description="opacity", style=_STYLE, layout=_full())),
    Control("colormap", "colormap", HOW,
            lambda: widgets.Dropdown(options=_colormaps(), value=AUTO, description="colormap",
                                     style=_STYLE, layout=_full())),
    Control("scale", "scale", HOW,
            lambda: widgets.Dropdown(
                options=[("each map to its own peak", "map"),
                         ("shared by the classes of this image", "shared")],
                value="map", description="scale", style=_STYLE, layout=_full())),
)


class Binding:
    """Binds a control's value to a trait both ways, with conversions either side.

    The one way the viewer's controls are kept from echoing: while a binding moves its
    control (or its trait), it is muted, and `quiet(...)` mutes bindings while their
    controls' options are refilled. A conversion returns `ignore()` to leave the other
    side as it is.
    """

    def __init__(self, control: widgets.ValueWidget, owner: HasTraits, setting: str,
                 to_setting: Callable[[Any], Any], to_control: Callable[[Any], Any]) -> None:
        self.control, self.owner, self.setting = control, owner, setting
        self._to_setting, self._to_control = to_setting, to_control
        self.muted = False
        control.observe(self._from_control, names="value")
        owner.observe(self._from_owner, names=setting)

    def _from_control(self, change: dict[str, Any]) -> None:
        if self.muted:
            return
        value = self._to_setting(change["new"])
        if value is not _IGNORE:
            with quiet(self):
                setattr(self.owner, self.setting, value)

    def _from_owner(self, change: dict[str, Any]) -> None:
        if not self.muted:
            self.show(change["new"])

    def show(self, value: Any) -> None:
        """Make the control show `value` (the trait's) without setting the trait again."""
        shown = self._to_control(value)
        if shown is _IGNORE or shown == self.control.value:
            return
        with quiet(self):
            self.control.value = shown

    def close(self) -> None:
        """Stop following both sides (a control that leaves the page)."""
        self.control.unobserve(self._from_control, names="value")
        self.owner.unobserve(self._from_owner, names=self.setting)


@contextlib.contextmanager
def quiet(*bindings: Binding) -> Iterator[None]:
    """Mute `bindings` for the block (each returns to what it was: blocks may nest)."""
    before = [binding.muted for binding in bindings]
    for binding in bindings:
        binding.muted = True
    try:
        yield
    finally:
        for binding, muted in zip(bindings, before):
            binding.muted = muted


_IGNORE = object()  # a conversion's way to say "leave the other side as it is"


def ignore() -> object:
    return _IGNORE


def same(value: Any) -> Any:
    return value


#: how a control's value becomes its setting's, for the controls that are not `same`
_CASTS: dict[str, Callable[[Any], Any]] = {
    "image": int, "input": int, "guided": bool, "opacity": float}


def bind(controls: dict[str, widgets.ValueWidget], owner: HasTraits,
         conversions: dict[str, tuple[Callable[[Any], Any], Callable[[Any], Any]]]
         ) -> dict[str, Binding]:
    """One binding per table row, by control name: `conversions[name]` is (to setting,
    to control) where a plain cast (or nothing) is not enough."""
    return {row.name: Binding(controls[row.name], owner, row.setting,
                              *conversions.get(row.name, (_CASTS.get(row.name, same), same)))
            for row in TABLE}


def build() -> dict[str, widgets.ValueWidget]:
    """One fresh control per table row."""
    return {row.name: row.make() for row in TABLE}


def groups(controls: dict[str, widgets.Widget], extra: dict[str, list[widgets.Widget]]
           ) -> widgets.Box:
    """The two groups side by side, wrapping under each other when the page is narrow.
    `extra` adds widgets (labels, buttons) after a control of the table."""
    boxes = []
    for group in (WHAT, HOW):
        children: list[widgets.Widget] = [widgets.HTML(f"<b>{group}</b>")]
        for row in TABLE:
            if row.group == group:
                children.append(controls[row.name])
                children.extend(extra.get(row.name, []))
        boxes.append(widgets.VBox(children, layout=widgets.Layout(
            flex="1 1 300px", min_width="0", max_width="520px", margin="0 12px 0 0")))
    return widgets.Box(boxes, layout=widgets.Layout(flex_flow="row wrap", width="100%"))
