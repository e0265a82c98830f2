"""Wires the facade's traits to the controls, the session and the page's words."""

from __future__ import annotations

import asyncio
import html
from typing import Any

import ipywidgets as widgets

from cam_widgets.viewer import controls
from cam_widgets.viewer.controls import Binding, ignore, same
from cam_widgets.viewer.drawing import RegionDrawing
from cam_widgets.viewer.explainer import Explanation
from cam_widgets.viewer.labels import layer_size
from cam_widgets.viewer.layout import Layout
from cam_widgets.viewer.method_options import MethodOptions
from cam_widgets.viewer.painter import Painter
from cam_widgets.viewer.pictures import Pictures
from cam_widgets.viewer.prefetch import Prefetcher, likely_next
from cam_widgets.viewer.regions import DenseOutput
from cam_widgets.viewer.session import Session
from cam_widgets.viewer.transport import CanvasTransport
from cam_widgets.viewer.words import Words

class Wiring:
    """Holds the parts of one viewer and routes setting changes between them."""

    def __init__(self, viewer: Any, kernel: Any, transport: CanvasTransport,
                 cache_size: int, prefetch: bool | None) -> None:
        self.viewer, self.kernel, self.transport = viewer, kernel, transport
        self.canvases = transport.canvases
        self.error_text, self.last_error = "", None
        self.all_layers = [info for info in kernel.list_layers(viewer.model) if info.spatial]
        self.main_layers = kernel.main_layers(viewer.model)
        self.layers = self.main_layers  # what the layer menu lists now
        self.inputs = _model_inputs(viewer.model)
        self.dense = _dense_output(viewer.model)  # a segmentation model's output, or None
        self.n_classes = self.dense.classes if self.dense else _class_count(kernel, viewer.model)
        self.painter = Painter(transport)
        self.pictures = Pictures(self)
        self.prefetcher, self._prefetch = Prefetcher(), prefetch
        self.session = Session(kernel, viewer.model, self.painter, lambda: viewer.settings,
                               self._done, self._failed, self._busy, cache_size, self.dense)
        self.drawing = RegionDrawing(
            viewer, transport, self._shown_size,
            lambda: self.painter.frame.outline_rects() if self.painter.frame else [],
            self.dense is not None)
        self.controls = controls.build()
        self.words = Words(self)
        self.follow = widgets.Checkbox(viewer.target is None, indent=False,
                                       description="new image: explain its top class")
        self.method_options = MethodOptions(viewer, kernel)
        self.depth_label = widgets.HTML()
        self.all_layers_box = widgets.Checkbox(
            False, indent=False, description="show all layers",
            layout=widgets.Layout(display=None if len(self.all_layers) > len(self.layers)
                                  else "none"))
        self.all_layers_box.observe(self._layer_menu, names="value")
        self.layout = Layout(transport, controls.groups(self.controls, {
            "guided": [self.method_options.box],
            "depth": [self.depth_label, self.all_layers_box],
            "target": [self.words.top5, self.follow, self.drawing.box]}),
            lambda: self.pictures.png())
        self.class_label, self.caption = self.layout.class_label, self.layout.caption
        self.status, self.error_box = self.layout.status, self.layout.error_box
        self.download, self.top5_buttons = self.layout.download, self.words.buttons
        self._fill_options()
        self._bind()
        self._adjusting = False
        self._pretraced = False
        transport.on_client_ready(transport.redraw)

    # ------------------------------------------------------------------ controls
    def _fill_options(self) -> None:
        c, v = self.controls, self.viewer
        c["method"].options = list(self.kernel.method_names())
        c["input"].options = [(f"{i}: {name} {shape[1:]}", i)
                              for i, (name, shape, _) in enumerate(self.inputs)]
        c["input"].layout.display = None if len(self.inputs) > 1 else "none"
        self._fill_layers()
        c["image"].layout.display = "none"
        self.words.fill_classes()
        for name in ("method", "opacity", "colormap", "scale", "guided", "input"):
            c[name].value = getattr(v, {"input": "input_index"}.get(name, name))

    def _fill_layers(self) -> None:
        c = self.controls
        c["layer"].options = [(f"{i.path} · {layer_size(i)}", i.path)
                              for i in self.layers]
        c["depth"].max = max(len(self.layers) - 1, 0)

    def paths(self) -> list[str]:
        return [i.path for i in self.layers]

    def _layer_menu(self, change: dict[str, Any]) -> None:
        """The "show all layers" switch: the menu lists every spatial layer, or the
        main ones (`kernel.layer_choice`)."""
        self.layers = self.all_layers if change["new"] else self.main_layers
        for binding in self.bindings[4:6]:
            binding.muted = True
        try:
            self._fill_layers()
        finally:
            for binding in self.bindings[4:6]:
                binding.muted = False
        self.refresh_controls()

    def _bind(self) -> None:
        c, v = self.controls, self.viewer
        paths = self.paths
        self.bindings = [
            Binding(c["image"], v, "image_index", int, same),
            Binding(c["input"], v, "input_index", int, same),
            Binding(c["method"], v, "method", str, same),
            Binding(c["guided"], v, "guided", bool, same),
            Binding(c["layer"], v, "layer", lambda p: ignore() if p is None else p,
                    lambda p: p if p in paths() else None),
            Binding(c["depth"], v, "layer", lambda i: paths()[i] if paths() else ignore(),
                    lambda p: paths().index(p) if p in paths() else ignore()),
            Binding(c["target"], v, "target", self.words.parse_class, self.words.class_text),
            Binding(c["opacity"], v, "opacity", float, same),
            Binding(c["colormap"], v, "colormap", str, same),
            Binding(c["scale"], v, "scale", str, same),
        ]

    def refresh_controls(self) -> None:
        c, v = self.controls, self.viewer
        if isinstance(v.layer, str) and v.layer not in self.paths() and not self.all_layers_box.value \
                and v.layer in [i.path for i in self.all_layers]:
            self.all_layers_box.value = True  # a layer off the main menu: list them all
        method = self.kernel.get_method(v.method)
        c["guided"].disabled = bool(method.forces_guided)
        if method.forces_guided and not c["guided"].value:
            self.bindings[3].show(True)
        c["layer"].disabled = c["depth"].disabled = not method.uses_layer or not self.layers
        c["target"].disabled = callable(v.target) or self.n_classes is None
        self.follow.disabled = callable(v.target)
        self.drawing.refresh(v.target)
        for binding in self.bindings:
            binding.show(getattr(v, binding.setting))
        self.method_options.show()
        paths = self.paths()
        if v.layer in paths:
            at = paths.index(v.layer)
            size = layer_size(self.layers[at])
            self.depth_label.value = (f"<small>depth {at + 1} of {len(paths)}: "
                                      f"{html.escape(str(v.layer))} · {size}</small>")

    # ------------------------------------------------------------------ settings
    def setting_changed(self, name: str, recompute: bool) -> None:
        if self._adjusting:
            return
        v = self.viewer
        if name == "image_index" and not callable(v.target) and self.follow.value:
            self._adjust(target=None)
        if name == "image_index" and v.region is not None:
            self._adjust(region=None)  # a drawn region belongs to its image
        if name == "method" and v.options:
            self._adjust(options={})  # options belong to the method they were given for
        self.refresh_controls()
        if self.session.images is None:
            return
        if recompute:
            self.session.scheduler.request()
        elif name == "opacity":
            self.painter.set_opacity(v.opacity)
            self.pictures.schedule()
        else:
            self.session.repaint()
            self.pictures.show_colour_bar()
            self.pictures.schedule()

    def _adjust(self, **values: Any) -> None:
        """Set traits without triggering another computation."""
        self._adjusting = True
        try:
            for key, value in values.items():
                setattr(self.viewer, key, value)
        finally:
            self._adjusting = False

    def new_images(self) -> None:
        self._pretraced = False
        v, images = self.viewer, self.session.images
        c = self.controls["image"]
        c.max = max(len(images) - 1, 0)
        c.layout.display = None if len(images) > 1 else "none"
        self._adjust(image_index=0, target=v.target if callable(v.target) or not self.follow.value
                     else None, region=None)
        self.refresh_controls()
        self.session.scheduler.request()

    # ------------------------------------------------------------------ session callbacks
    def _done(self, e: Explanation) -> None:
        v, done = self.viewer, e.settings
        asked = v.settings
        if (asked.image_index, asked.input_index, asked.method, asked.guided) == (
                done.image_index, done.input_index, done.method, done.guided):
            update = {}
            if asked.layer is None and done.layer is not None:
                update["layer"] = done.layer
            if asked.target is None and not callable(done.target):
                update["target"] = done.target
            self._adjust(**update)
        if self.n_classes is None and e.predictions is not None and not callable(done.target):
            self.n_classes = int(e.predictions.shape[-1])
            self.words.fill_classes()
        self.error_text = ""
        self.layout.set_error("")
        self.layout.fit(*self.painter.frame.image.shape[:2])
        self.refresh_controls()
        self.words.explained(e)
        self.pictures.show_colour_bar()
        self.pictures.schedule()
        if e.source != "cached" and not self._pretraced:
            self._pretraced = True  # once per show(): later pre-traces would queue
            self._pretrace(e)        # in front of the user's own next actions

    def _pretrace(self, e: Explanation) -> None:
        """Queue the next likely actions' kernel calls (see `prefetch`)."""
        enabled = self._prefetch
        if enabled is None:
            try:
                asyncio.get_running_loop()
                enabled = True
            except RuntimeError:
                enabled = False
        if not enabled or self.session.explainer is None:
            return
        method = self.kernel.get_method(e.settings.method)
        todo = likely_next(e.settings, e.predictions, self.paths(),
                           method.uses_layer, method.forces_guided)
        self.prefetcher.start(self.session.explainer, todo)

    def _failed(self, error: BaseException) -> None:
        self.last_error = error
        text = str(error) if isinstance(error, (ValueError, TypeError)) else (
            f"{type(error).__name__}: {error}")
        self.error_text = text or type(error).__name__
        self.layout.set_error(self.error_text)
        self.status.value = "could not explain this setting (see below); change a control to retry"
        self.words.explained(None)
        self.pictures.show_colour_bar()

    def _busy(self, busy: bool) -> None:
        self.layout.dim(("heatmap", "overlay"), busy)
        if busy:
            self.status.value = f"computing {html.escape(self.words.describe())} …"

    def _shown_size(self) -> tuple[int, int] | None:
        image = self.session.shown_image
        return None if image is None else image.shape[:2]

    def flush(self) -> None:
        self.session.scheduler.flush()
        self.pictures.flush()


def _model_inputs(model: Any) -> list[tuple[str, tuple, int | None]]:
    try:
        refs = list(model.inputs)
    except (AttributeError, ValueError):
        return [("input", (), None)]
    return [(getattr(r, "name", f"input_{i}"), tuple(r.shape), r.shape[-1])
            for i, r in enumerate(refs)] or [("input", (), None)]


def _dense_output(model: Any) -> DenseOutput | None:
    """A segmentation output's class count and size (`kernel.segmentation`), or None."""
    from cam_widgets.kernel.segmentation import is_dense_output

    try:
        if not is_dense_output(model):
            return None
    except (AttributeError, ValueError):
        return None
    shape = tuple(model.outputs[0].shape)
    return DenseOutput(int(shape[3]) if len(shape) == 4 and shape[3] is not None else 1,
                       (shape[1], shape[2]))


def _class_count(kernel: Any, model: Any) -> int | None:
    """How many classes an int target can name (`kernel.class_count`), None if unknown."""
    try:
        return kernel.class_count(model)
    except ValueError:  # a model the kernel cannot read: its own error comes on explain
        return None


__all__ = ["Wiring"]
