"""The controls of one viewer: the table's controls bound to the viewer's traits by name,
the layer menu (main layers, or every spatial layer), the method's option controls, and
which controls apply to the current settings."""

from __future__ import annotations

import html
from typing import Any

import ipywidgets as widgets

from cam_widgets.viewer import controls
from cam_widgets.viewer.controls import ignore, quiet
from cam_widgets.viewer.messages import message_line, say
from cam_widgets.viewer.method_options import MethodOptions
from cam_widgets.viewer.model_facts import ModelFacts
from cam_widgets.viewer.words import Words, layer_size


class ControlPanel:
    """Builds, fills and binds the controls of `viewer` (a `CamViewer`: its traits are
    the settings); `refresh()` makes them show and enable what the settings allow."""

    def __init__(self, viewer: Any, kernel: Any, facts: ModelFacts, words: Words) -> None:
        self.viewer, self.facts, self.words = viewer, facts, words
        self._get_method = kernel.get_method
        self.controls = controls.build()
        self.follow = widgets.Checkbox(viewer.target is None, indent=False,
                                       description="new image: explain its top class")
        self.method_options = MethodOptions(viewer, kernel.get_method)
        self.depth_label = widgets.HTML()
        self.class_message = message_line()  # beside the class picker: a class not found
        self.layers = facts.main_layers  # what the layer menu lists now
        self.all_layers_box = widgets.Checkbox(
            False, indent=False, description="show all layers",
            layout=widgets.Layout(display=None if len(facts.all_layers) > len(self.layers)
                                  else "none"))
        self.all_layers_box.observe(self._layer_menu, names="value")
        self._fill(list(facts.methods or kernel.method_names()))
        self.bindings = controls.bind(self.controls, viewer, {
            "layer": (lambda p: ignore() if p is None else p,
                      lambda p: p if p in self._menu_values() else None),
            "depth": (lambda i: self.paths()[i] if self.paths() else ignore(),
                      lambda p: self.paths().index(p) if p in self.paths() else ignore()),
            "target": (self._class_of, self._class_shown),
            "method": (lambda m: m, self._listed_method),
        })

    def box(self, top_classes: widgets.Widget, drawing: widgets.Widget) -> widgets.Box:
        """The two control groups; the top-5 buttons and the region drawing go below the
        class picker."""
        return controls.groups(self.controls, {
            "guided": [self.method_options.box],
            "depth": [self.depth_label, self.all_layers_box],
            "target": [self.class_message, top_classes, self.follow, drawing]})

    def _listed_method(self, name: str) -> str:
        """A method set from code that the menu leaves out (it does not apply to this
        model: the kernel will say why) is added to the menu, so the menu shows it."""
        menu = self.controls["method"]
        if name not in menu.options:
            menu.options = (*menu.options, name)
        return name

    def _class_of(self, text: str) -> Any:
        """The class typed or picked; a text that names none leaves the class as it is
        and says why beside the picker."""
        index = self.words.parse_class(text)
        problem = self.words.class_problem(text, index)
        say(self.class_message, problem)
        return ignore() if index is None or problem else index

    def _class_shown(self, target: Any) -> Any:
        """The picker's entry for a class set from code (which answers any message)."""
        say(self.class_message, "")
        return self.words.class_text(target)

    # ------------------------------------------------------------------ menus
    def _fill(self, methods: list[str]) -> None:
        c, v = self.controls, self.viewer
        c["method"].options = methods if v.method in methods else [*methods, v.method]
        c["input"].options = [(f"{i}: {name} {shape[1:]}", i)
                              for i, (name, shape, _) in enumerate(self.facts.inputs)]
        c["input"].layout.display = None if len(self.facts.inputs) > 1 else "none"
        self._fill_layers()
        c["image"].layout.display = "none"
        self.fill_classes()
        for name, setting in (("method", "method"), ("opacity", "opacity"),
                              ("colormap", "colormap"), ("scale", "scale"),
                              ("guided", "guided"), ("input", "input_index")):
            c[name].value = getattr(v, setting)

    def _fill_layers(self) -> None:
        c = self.controls
        entries = [(f"{i.path} · {layer_size(i)}", i.path) for i in self.layers]
        layer = self.viewer.layer
        if layer is not None and layer not in self.paths():  # set from code, maybe wrong:
            entries.append((f"{layer} · set from code", layer))  # shown, not blanked
        c["layer"].options = entries
        c["depth"].max = max(len(self.layers) - 1, 0)

    def _menu_values(self) -> list[Any]:
        return [value for _, value in self.controls["layer"].options]

    def fill_classes(self) -> None:
        """The class picker's entries (again, once the class count is known)."""
        self.controls["target"].options = self.words.class_entries()

    def images(self, count: int) -> None:
        """An image slider for `count` images (hidden for one)."""
        slider = self.controls["image"]
        slider.max = max(count - 1, 0)
        slider.layout.display = None if count > 1 else "none"

    def paths(self) -> list[str]:
        """The layer menu's paths, in order (what the depth slider scrubs)."""
        return [i.path for i in self.layers]

    def _layer_menu(self, change: dict[str, Any]) -> None:
        """The "show all layers" switch: the menu lists every spatial layer, or the
        main ones (`kernel.layer_choice`)."""
        self.layers = self.facts.all_layers if change["new"] else self.facts.main_layers
        with quiet(self.bindings["layer"], self.bindings["depth"]):
            self._fill_layers()
        self.refresh()

    # ------------------------------------------------------------------ state
    def refresh(self) -> None:
        """Show the settings and enable the controls that apply to them."""
        c, v = self.controls, self.viewer
        if isinstance(v.layer, str) and v.layer not in self.paths() \
                and not self.all_layers_box.value \
                and v.layer in [i.path for i in self.facts.all_layers]:
            self.all_layers_box.value = True  # a layer off the main menu: list them all
        if (v.layer is not None and v.layer not in self._menu_values()) or \
                len(self._menu_values()) != len(self.layers):
            with quiet(self.bindings["layer"], self.bindings["depth"]):
                self._fill_layers()  # the menu's entry for a layer set from code
        method = self._get_method(v.method)
        c["guided"].disabled = bool(method.forces_guided)
        if method.forces_guided and not c["guided"].value:
            self.bindings["guided"].show(True)
        c["layer"].disabled = c["depth"].disabled = not method.uses_layer or not self.layers
        c["target"].disabled = callable(v.target) or self.facts.n_classes is None
        self.follow.disabled = callable(v.target)
        for binding in self.bindings.values():
            binding.show(getattr(v, binding.setting))
        self.method_options.show()
        paths = self.paths()
        if v.layer not in paths:
            self.depth_label.value = ""  # a layer set from code, off the menu: no depth
        else:
            at = paths.index(v.layer)
            self.depth_label.value = (
                f"<small>depth {at + 1} of {len(paths)}: {html.escape(str(v.layer))} · "
                f"{layer_size(self.layers[at])}</small>")


__all__ = ["ControlPanel"]
