"""Controls for the chosen method's declared options (`Method.options`), built from the
declaration: a number box, a menu for choices, a checkbox for a flag, and a text box for
a number that may be left empty (None, e.g. "all channels"). Each is bound to the
viewer's `options` trait by a `controls.Binding`, like every other control: it sets its
option there (only values that differ from the default), and code that sets `options`
moves it. A value the declaration refuses (`Option.check`: out of its limits, not a
number) is not clamped nor dropped: the control keeps it, the message beside it says
what is allowed, and the option keeps its last good value."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import ipywidgets as widgets

from cam_widgets.viewer.controls import LABEL_STYLE as _STYLE
from cam_widgets.viewer.controls import Binding, ignore
from cam_widgets.viewer.messages import message_line, say


def _control(option: Any) -> widgets.ValueWidget:
    kinds = option.kind if isinstance(option.kind, tuple) else (option.kind,)
    common = dict(description=option.name, tooltip=option.doc, style=_STYLE,
                  layout=widgets.Layout(width="auto", min_width="0"))
    if option.none_ok and option.choices is None:
        return widgets.Text(value=_shown(option, option.default), placeholder="none",
                            continuous_update=False, **common)
    if option.choices is not None:
        return widgets.Dropdown(options=list(option.choices), value=option.default, **common)
    if bool in kinds:
        return widgets.Checkbox(bool(option.default), indent=False, description=option.name,
                                tooltip=option.doc)
    # not Bounded*Text: those clamp a value out of the limits without a word
    common["tooltip"] = f"{option.doc} ({option.allowed()})"
    if int in kinds and float not in kinds:
        return widgets.IntText(value=option.default, continuous_update=False, **common)
    return widgets.FloatText(value=option.default, step=0.05, continuous_update=False,
                             **common)


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


def _same(a: Any, b: Any) -> bool:
    """Equal option values (an array, e.g. a baseline image, compared by identity)."""
    try:
        return bool(a is b or a == b)
    except (TypeError, ValueError):
        return False


class MethodOptions:
    """A box of option controls for the viewer's current method, bound to `options`."""

    def __init__(self, viewer: Any, get_method: Callable[[str], Any]) -> None:
        self.viewer, self._get_method = viewer, get_method
        self.box = widgets.VBox(layout=widgets.Layout(width="100%"))
        self.controls: dict[str, widgets.ValueWidget] = {}
        self.messages: dict[str, widgets.HTML] = {}  # beside each control: a refused value
        self.bindings: dict[str, Binding] = {}
        self._refused: dict[str, Any] = {}  # option -> its value when a typed one was refused
        self._method: str | None = None

    def show(self) -> None:
        """Rebuild for a new method; then make the controls show `viewer.options`."""
        method = self._get_method(self.viewer.method)
        if method.name != self._method:
            self._method = method.name
            for binding in self.bindings.values():
                binding.close()
            self._refused = {}
            self.controls = {option.name: _control(option) for option in method.options}
            self.messages = {option.name: message_line() for option in method.options}
            self.bindings = {option.name: self._bind(method, option)
                             for option in method.options}
            self.box.children = [widget for name in self.controls
                                 for widget in (self.controls[name], self.messages[name])]
        for binding in self.bindings.values():
            binding.show(self.viewer.options)

    def _forget(self, name: str) -> None:
        """The option's refused value is gone: no message."""
        self._refused.pop(name, None)
        say(self.messages[name], "")

    def _bind(self, method: Any, option: Any) -> Binding:
        def to_setting(value: Any) -> Any:
            options = dict(self.viewer.options)
            try:
                value = option.check(_given(option, value), method.name)
                if value == option.default:
                    options.pop(option.name, None)
                else:
                    options[option.name] = value
                method.check_options(options)  # what the `options` trait will check
            except (TypeError, ValueError) as e:
                say(self.messages[option.name], str(e))
                self._refused[option.name] = self.viewer.options.get(option.name,
                                                                      option.default)
                return ignore()
            self._forget(option.name)
            return options

        def to_control(options: dict[str, Any]) -> Any:
            value = options.get(option.name, option.default)
            if option.name in self._refused and _same(self._refused[option.name], value):
                return ignore()  # unchanged since: the refused value stays, with its message
            self._forget(option.name)
            return _shown(option, value)

        return Binding(self.controls[option.name], self.viewer, "options", to_setting,
                       to_control)
