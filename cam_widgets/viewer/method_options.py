"""Controls for the chosen method's declared options (`Method.options`), built from the
declaration: a number box bounded by the option's limits, a menu for choices, a checkbox
for a flag, and a text box for a number that may be left empty (None, e.g. "all
channels"). Each is bound to the viewer's `options` trait by a `controls.Binding`, like
every other control: it sets its option there (only values that differ from the
default), and code that sets `options` moves it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import ipywidgets as widgets

from cam_widgets.viewer.controls import LABEL_STYLE as _STYLE
from cam_widgets.viewer.controls import Binding


def _control(option: Any) -> widgets.ValueWidget:
    kinds = option.kind if isinstance(option.kind, tuple) else (option.kind,)
    common = dict(description=option.name, tooltip=option.doc, style=_STYLE,
                  layout=widgets.Layout(width="auto", min_width="0"))
    if option.none_ok and option.choices is None:
        return widgets.Text(value=_shown(option, option.default), placeholder="none", **common)
    if option.choices is not None:
        return widgets.Dropdown(options=list(option.choices), value=option.default, **common)
    if bool in kinds:
        return widgets.Checkbox(bool(option.default), indent=False, description=option.name,
                                tooltip=option.doc)
    limits = {"min": option.low if option.low is not None else -1e12,
              "max": option.high if option.high is not None else 1e12}
    if int in kinds and float not in kinds:
        return widgets.BoundedIntText(value=option.default, **limits, **common)
    return widgets.BoundedFloatText(value=option.default, step=0.05, **limits, **common)


def _shown(option: Any, value: Any) -> Any:
    """The value as the option's control holds it (empty text for None)."""
    if option.none_ok and option.choices is None:
        return "" if value is None else str(value)
    return value


def _given(option: Any, value: Any) -> Any:
    """The option's value from its control's (a number or None from a text box)."""
    if not (option.none_ok and option.choices is None):
        return value
    text = str(value).strip()
    if not text or text.lower() == "none":
        return None
    kinds = option.kind if isinstance(option.kind, tuple) else (option.kind,)
    try:
        return int(text) if int in kinds and float not in kinds else float(text)
    except ValueError:
        return text  # the option's own check names what is allowed


class MethodOptions:
    """A box of option controls for the viewer's current method, bound to `options`."""

    def __init__(self, viewer: Any, get_method: Callable[[str], Any]) -> None:
        self.viewer, self._get_method = viewer, get_method
        self.box = widgets.VBox(layout=widgets.Layout(width="100%"))
        self.controls: dict[str, widgets.ValueWidget] = {}
        self.bindings: dict[str, Binding] = {}
        self._method: str | None = None

    def show(self) -> None:
        """Rebuild for a new method; then make the controls show `viewer.options`."""
        method = self._get_method(self.viewer.method)
        if method.name != self._method:
            self._method = method.name
            for binding in self.bindings.values():
                binding.close()
            self.controls = {option.name: _control(option) for option in method.options}
            self.bindings = {option.name: self._bind(option) for option in method.options}
            self.box.children = list(self.controls.values())
        for binding in self.bindings.values():
            binding.show(self.viewer.options)

    def _bind(self, option: Any) -> Binding:
        def to_setting(value: Any) -> dict[str, Any]:
            options = dict(self.viewer.options)
            value = _given(option, value)
            if value == option.default:
                options.pop(option.name, None)
            else:
                options[option.name] = value
            return options

        def to_control(options: dict[str, Any]) -> Any:
            return _shown(option, options.get(option.name, option.default))

        return Binding(self.controls[option.name], self.viewer, "options", to_setting,
                       to_control)
