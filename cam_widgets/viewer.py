"""CamViewer: an ipywidgets view of where a Keras image model looks.

`CamViewer(model).show(img)` returns a widget with three canvases (image | heatmap |
overlay) and the controls that change them. The state machine (settings, caches, the
latest-value-wins scheduler) lives in `_viewer_state`; pixels come from `render`.

- Layer, class, method, guided, input and image changes recompute; opacity and colormap
  repaint the cached map without calling the model. A class or method change on the same
  layer reuses that layer's cached activations, so only the layers after it run.
- In a notebook the kernel call runs on a worker thread: the controls stay live, a burst
  of slider moves ends in one computation of the latest value, and "computing…" shows.
  In a script (no running event loop) every change is applied before the setter returns.
- Pixels are always sent as RGBA PNG (lossless), one message per repaint; the composited
  arrays stay on the Python side (`snapshot()`, tests) and the widget's mimebundle carries
  them as a PNG, so a saved notebook still shows the picture.
"""

from __future__ import annotations

import asyncio
import base64
import html
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from types import SimpleNamespace
from typing import Any

import ipywidgets as widgets
import numpy as np
from ipycanvas import Canvas, hold_canvas

from cam_widgets import render
from cam_widgets._viewer_state import Explainer, Explanation, ImageSet, LatestWins, Settings

__all__ = ["CamViewer"]

_PANELS = ("image", "heatmap", "overlay")
_SAVED_PNG_HEIGHT = 256  # small views are enlarged to about this height in saved notebooks
_PANEL_PX = 256  # CSS width of one canvas (an integer multiple of small images' pixels)
_PIXELATED = "cam-widgets-pixelated"
_STYLE = (
    f"<style>.{_PIXELATED}, .{_PIXELATED} canvas {{ image-rendering: pixelated; }}"
    ".cam-widgets-error { color: #b00020; white-space: pre-wrap; }</style>"
)
_WIDE = {"description_width": "170px"}
_CONTROL_WIDTH = "400px"  # two columns of controls fit under the three canvases


def _load_kernel() -> SimpleNamespace:
    """The kernel functions the viewer calls (one place, so tests can wrap or fake them)."""
    from cam_widgets.kernel import explain, list_layers
    from cam_widgets.kernel.methods import get_method, method_names

    return SimpleNamespace(
        explain=explain, list_layers=list_layers, method_names=method_names, get_method=get_method
    )


def _encode_panels(panels: list[np.ndarray]) -> list[bytes]:
    """Fast lossless PNGs of the panels to send (one after the other: a thread pool was
    measured slower, its hand-offs competing with TensorFlow's threads)."""
    return [render.encode_png(p, compress_level=render.FAST_PNG_LEVEL) for p in panels]


def _put_png(canvas: Canvas, rgba: np.ndarray, png: bytes) -> None:
    """Draw `rgba` ((h, w, 4) uint8, encoded as `png`) at (0, 0), losslessly.

    The same two commands as `put_image_data`, with our PNG: ipycanvas encodes at
    Pillow's default zlib level (~45 ms for a 224x224 photo overlay); level 1 is several
    times faster, which is what keeps an opacity or class change interactive. Falls back
    to `put_image_data` (also RGBA PNG) if ipycanvas' command table ever changes.
    """
    try:
        from ipycanvas.canvas import COMMANDS

        manager = canvas._canvas_manager
        put, reset = COMMANDS["putImageData"], COMMANDS["resetTransform"]
    except (ImportError, AttributeError, KeyError):
        canvas.put_image_data(rgba, 0, 0)
        return
    manager.send_draw_command(canvas, put, [0, 0], [png])
    manager.send_draw_command(canvas, reset)


def _class_namer(class_names: Any) -> Callable[[int, int], str]:
    """(class index, number of classes) -> a name, from a list, a mapping or a decoder.

    A callable is used like keras.applications' `decode_predictions(preds, top=1)`: it is
    given a one-hot row and its first entry's name (second field) is taken.
    """
    memo: dict[int, str] = {}

    def name(index: int, n_classes: int) -> str:
        if index in memo:
            return memo[index]
        fallback = f"class {index}"
        if class_names is None:
            found = fallback
        elif callable(class_names):
            try:
                onehot = np.zeros((1, max(n_classes, index + 1)), np.float32)
                onehot[0, index] = 1.0
                entry = class_names(onehot, top=1)[0][0]
                found = str(
                    entry[1] if isinstance(entry, (tuple, list)) and len(entry) > 1 else entry
                )
            except Exception:  # a decoder that needs a download or another shape
                found = fallback
        elif isinstance(class_names, Mapping):
            found = str(class_names.get(index, fallback))
        else:
            found = str(class_names[index]) if 0 <= index < len(class_names) else fallback
        memo[index] = found
        return found

    return name


class CamView(widgets.VBox):
    """The widget `CamViewer.show()` returns; its mimebundle adds a PNG of the current view."""

    def __init__(self, viewer: CamViewer, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._viewer = viewer

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any] | None:
        data = super()._repr_mimebundle_(**kwargs)
        if data is None:
            return None
        png = self._viewer._png()
        if png is not None:
            data["image/png"] = base64.b64encode(png).decode("ascii")
        return data


class CamViewer:
    """Interactive Grad-CAM (and friends) for a Keras image model, in Jupyter.

    Parameters
    ----------
    model : keras.Model
    class_names : sequence of str, mapping {index: name}, or a decoder such as
        ``keras.applications.imagenet_utils.decode_predictions``; optional.
    preprocess : callable, optional
        Maps a (1, H, W, C) copy of the raw image (its own dtype; uint8 for PIL images and
        paths) to the model's input. The raw image is what is shown.
    layer : str or int, optional
        The layer to start with; None is the last spatial layer.
    method : str
        A name from the method registry ("gradcam", "saliency", ...).
    target : callable, optional (keyword)
        ``f(outputs) -> (B,)`` scores to explain instead of a class (e.g. a siamese
        similarity); the class controls are then disabled. An int starts on that class.
    input_index : int (keyword)
        Which input of a multi-input model is explained (also a control).
    """

    def __init__(
        self,
        model: Any,
        class_names: Sequence[str] | Mapping[int, str] | Callable[..., Any] | None = None,
        preprocess: Callable[[np.ndarray], Any] | None = None,
        layer: str | int | None = None,
        method: str = "gradcam",
        *,
        target: int | Callable[[Any], Any] | None = None,
        input_index: int = 0,
        guided: bool = False,
        opacity: float = 0.5,
        colormap: str = "jet",
        max_display: int = 448,
        cache_size: int = 32,
    ) -> None:
        self.model = model
        self.preprocess = preprocess
        self._kernel = _load_kernel()
        self._kernel.get_method(method)  # an unknown method fails here, naming close matches
        if colormap not in render.COLORMAPS:
            raise ValueError(f"colormap must be one of {list(render.COLORMAPS)}, got {colormap!r}")
        self._name = _class_namer(class_names)
        self._max_display = int(max_display)
        self._cache_size = int(cache_size)
        self.layers = [info for info in self._kernel.list_layers(model) if info.spatial]
        self._inputs = self._model_inputs(model)
        self._n_classes = self._output_classes(model)
        self._callable_target = target if callable(target) else None
        self._settings = Settings(
            input_index=int(input_index),
            layer=layer,
            target=target,
            method=method,
            guided=bool(guided),
            opacity=float(opacity),
            colormap=colormap,
        )
        self._images: ImageSet | None = None
        self._explainer: Explainer | None = None
        self._shown: Explanation | None = None
        self._shown_image: np.ndarray | None = None
        self._frames: dict[str, np.ndarray] = {}
        self._heat_memo: tuple[Any, np.ndarray] | None = None
        self._repaint_parts: set[str] = set()
        self._repaint_scheduled = False
        self._syncing = False
        self.last_error: BaseException | None = None
        self._scheduler = LatestWins(self._prepare, self._finish, self._set_busy)
        self._build_widget()
        self._sync_controls()

    # ------------------------------------------------------------------ public API
    def show(self, images: Any) -> CamView:
        """Explain one image, a batch (B, H, W, C) or a list of images; returns the widget.

        For a multi-input model pass one image (or batch) per input, as a list.
        """
        self._scheduler.flush()
        self._explainer, self._images, self._shown, self._shown_image = None, None, None, None
        try:
            self._images = ImageSet(
                images,
                len(self._inputs),
                [c for _, _, c in self._inputs],
                self.preprocess,
                self._max_display,
            )
            self._explainer = Explainer(self._kernel, self.model, self._images, self._cache_size)
        except (ValueError, TypeError) as e:
            self._show_error(e)
        s = self._settings
        self._settings = replace(s, image=0, target=self._target_for_new_image(s))
        self._sync_controls()
        if self._images is not None:
            self._scheduler.request()
            self._scheduler.flush()
        return self.widget

    def snapshot(self) -> np.ndarray:
        """The view as drawn: uint8 (H, W*3, 4), image | heatmap | overlay."""
        self.flush()
        if not self._frames:
            raise RuntimeError("nothing is drawn yet: call show(image) first")
        return render.side_by_side(*(self._frames[p] for p in _PANELS))

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write `snapshot()` to `path` as a PNG."""
        png = render.encode_png(self.snapshot())
        with open(path, "wb") as f:
            f.write(png)

    def flush(self) -> None:
        """Apply every pending change now (a script's or test's way to wait)."""
        self._scheduler.flush()
        if self._repaint_parts:
            self._repaint_now()

    async def wait(self, timeout: float = 60.0) -> None:
        """In a running event loop: wait until every pending change has been drawn."""
        await self._scheduler.wait(timeout)
        while self._repaint_scheduled:
            await asyncio.sleep(0.002)

    @property
    def settings(self) -> Settings:
        """The current settings (what the controls say)."""
        return self._settings

    @property
    def current_map(self) -> np.ndarray | None:
        """The map drawn now: float32 (h, w) in [0, 1] at the display size (None if none)."""
        return None if self._shown is None else self._shown.map

    @property
    def error(self) -> str | None:
        """The message shown in the widget, or None when all is well."""
        return self._error_text or None

    # ------------------------------------------------------------------ model facts
    @staticmethod
    def _model_inputs(model: Any) -> list[tuple[str, tuple, int | None]]:
        try:
            refs = list(model.inputs)
        except (AttributeError, ValueError):
            return [("input", (), None)]
        return [
            (getattr(r, "name", f"input_{i}"), tuple(r.shape), r.shape[-1])
            for i, r in enumerate(refs)
        ] or [("input", (), None)]

    @staticmethod
    def _output_classes(model: Any) -> int | None:
        try:
            outputs = list(model.outputs)
        except (AttributeError, ValueError):
            return None
        if len(outputs) == 1 and len(outputs[0].shape) == 2:
            return outputs[0].shape[-1]
        return None

    def _target_for_new_image(self, s: Settings) -> Any:
        if self._callable_target is not None:
            return self._callable_target
        return None if self.controls["follow"].value else s.target

    # ------------------------------------------------------------------ widgets
    def _build_widget(self) -> None:
        s = self._settings
        layer_options = [
            (f"{info.path} · {'×'.join(str(d) for d in info.output_shape[1:3])}", info.path)
            for info in self.layers
        ]
        methods = list(self._kernel.method_names())
        self.controls: dict[str, widgets.Widget] = {
            "image": widgets.IntSlider(0, min=0, max=0, description="image", style=_WIDE),
            "input": widgets.Dropdown(
                options=[
                    (f"{i}: {name} {shape[1:]}", i)
                    for i, (name, shape, _) in enumerate(self._inputs)
                ],
                value=s.input_index,
                description="explain input",
                style=_WIDE,
                tooltip="which input of the model the map is about",
            ),
            "method": widgets.Dropdown(
                options=methods, value=s.method, description="method", style=_WIDE
            ),
            "guided": widgets.Checkbox(
                value=s.guided,
                indent=False,
                description="guided ReLU: only positive gradients flow back",
                tooltip="Springenberg et al. 2015: sharper, finer detail (guided Grad-CAM)",
            ),
            "layer": widgets.Dropdown(
                options=layer_options,
                value=None,
                description="layer (deeper → coarser)",
                style=_WIDE,
                tooltip="CAM methods weight this layer's feature maps",
            ),
            "depth": widgets.IntSlider(
                0,
                min=0,
                max=max(len(self.layers) - 1, 0),
                description="scrub through depth",
                style=_WIDE,
            ),
            "target": widgets.IntSlider(
                0,
                min=0,
                max=max((self._n_classes or 1) - 1, 0),
                description="class to explain",
                style=_WIDE,
            ),
            "follow": widgets.Checkbox(
                value=s.target is None,
                indent=False,
                description="new image → explain its top prediction",
            ),
            "opacity": widgets.FloatSlider(
                s.opacity, min=0.0, max=1.0, step=0.05, description="heatmap opacity", style=_WIDE
            ),
            "colormap": widgets.Dropdown(
                options=list(render.COLORMAPS),
                value=s.colormap,
                description="colormap",
                style=_WIDE,
            ),
        }
        c = self.controls
        for control in c.values():
            control.layout.width = _CONTROL_WIDTH
        self.class_label = widgets.HTML()
        self.top5_buttons = [widgets.Button(layout=widgets.Layout(width="auto")) for _ in range(5)]
        self._top5_classes: list[int] = []
        for rank, button in enumerate(self.top5_buttons):
            button.on_click(lambda _b, rank=rank: self._pick_top(rank))
        self.top5 = widgets.VBox(
            [
                widgets.HTML("<b>top-5 predictions</b> (click one to explain it)"),
                widgets.HBox(self.top5_buttons, layout=widgets.Layout(flex_flow="row wrap")),
            ]
        )
        self.status = widgets.HTML()
        self.error_box = widgets.HTML(layout=widgets.Layout(display="none"))
        self._error_text = ""

        self.canvases = {p: Canvas(width=1, height=1) for p in _PANELS}
        captions = {
            "image": "image (as given)",
            "heatmap": "heatmap (where the score grows)",
            "overlay": "overlay",
        }

        def redraw_for_new_client(name: str) -> None:
            # A browser that connects later (page reload, Voila, a second tab) starts with no
            # canvas selected, but ipycanvas' Python-side manager (one for all canvases)
            # still remembers the last canvas drawn on and sends no "switchCanvas" before
            # drawing on it again (ipycanvas issue #322). When that canvas is the first to
            # report ready, its redraw fails in the browser ("Cannot read properties of
            # undefined (reading 'putImageData')") and the failure stops that page's command
            # queue: all three canvases stay blank and every later draw is lost. Forget the
            # selection, so that each redraw starts with a switch to its canvas.
            self.canvases[name]._canvas_manager._current_canvas = None
            self._repaint_now((name,))

        for name, canvas in self.canvases.items():
            canvas.on_client_ready(lambda name=name: redraw_for_new_client(name))
        panels = widgets.HBox(
            [
                widgets.VBox([self.canvases[p], widgets.HTML(f"<small>{captions[p]}</small>")])
                for p in _PANELS
            ]
        )

        for name in (
            "image",
            "input",
            "method",
            "guided",
            "layer",
            "target",
            "opacity",
            "colormap",
        ):
            c[name].observe(self._on_change, names="value")
        c["depth"].observe(self._on_depth, names="value")
        left = widgets.VBox(
            [c["image"], c["input"], c["method"], c["guided"], c["layer"], c["depth"]]
        )
        right = widgets.VBox(
            [c["target"], self.class_label, c["follow"], self.top5, c["opacity"], c["colormap"]]
        )
        self.widget = CamView(
            self,
            children=[
                widgets.HTML(_STYLE),
                panels,
                self.status,
                self.error_box,
                widgets.HBox([left, right]),
            ],
        )

    def _sync_controls(self) -> None:
        """Make the controls show `self._settings` (without triggering recomputation)."""
        s, c = self._settings, self.controls
        self._syncing = True
        try:
            n_images = len(self._images) if self._images is not None else 1
            c["image"].max = max(n_images - 1, 0)
            c["image"].value = min(s.image, c["image"].max)
            c["image"].layout.display = None if n_images > 1 else "none"
            c["input"].value = s.input_index
            c["input"].layout.display = None if len(self._inputs) > 1 else "none"
            c["method"].value = s.method
            method = self._kernel.get_method(s.method)
            forced = method.forces_guided
            c["guided"].value = bool(s.guided or forced)
            c["guided"].disabled = forced
            paths = [info.path for info in self.layers]
            c["layer"].value = s.layer if s.layer in paths else None
            if s.layer in paths:
                c["depth"].value = paths.index(s.layer)
            c["layer"].disabled = c["depth"].disabled = not method.uses_layer or not paths
            callable_target = callable(s.target)
            c["target"].disabled = callable_target or self._n_classes is None
            c["follow"].disabled = callable_target
            if isinstance(s.target, (int, np.integer)) and not isinstance(s.target, bool):
                c["target"].max = max(c["target"].max, int(s.target))
                c["target"].value = int(s.target)
            c["opacity"].value = s.opacity
            c["colormap"].value = s.colormap
        finally:
            self._syncing = False

    def _on_change(self, change: dict[str, Any]) -> None:
        if self._syncing:
            return
        name = next(k for k, w in self.controls.items() if w is change["owner"])
        value, s = change["new"], self._settings
        if name == "opacity":
            self._settings = replace(s, opacity=float(value))
            return self._repaint_soon(("overlay",))
        if name == "colormap":
            self._settings = replace(s, colormap=str(value))
            return self._repaint_soon(("heatmap", "overlay"))
        if name == "layer":
            if value is None:
                return
            s = replace(s, layer=value)
        elif name == "image":
            s = replace(s, image=int(value), target=self._target_for_new_image(s))
            if s.target is None and self._explainer is not None:  # top class known: show it now
                s = replace(s, target=self._explainer.resolve(s).target)
        elif name == "input":
            s = replace(s, input_index=int(value))
        elif name == "method":
            s = replace(s, method=str(value))
        elif name == "guided":
            s = replace(s, guided=bool(value))
        elif name == "target":
            s = replace(s, target=int(value))
        self._settings = s
        self._sync_controls()
        if self._images is not None:
            self._scheduler.request()

    def _on_depth(self, change: dict[str, Any]) -> None:
        if not self._syncing and self.layers:
            self.controls["layer"].value = self.layers[int(change["new"])].path

    def _pick_top(self, rank: int) -> None:
        if rank < len(self._top5_classes) and not self.controls["target"].disabled:
            self.controls["target"].value = self._top5_classes[rank]

    # ------------------------------------------------------------------ computing
    def _prepare(self) -> tuple[Any, Callable[[], Any]] | None:
        asked, explainer = self._settings, self._explainer
        if explainer is None:
            return None
        try:
            hit = explainer.cached(asked)
            if hit is not None:
                self._apply(asked, hit)
                return None
            return (explainer, asked), explainer.job(asked)
        except Exception as e:  # a bad image, a failing preprocess: shown, never raised
            self._show_error(e, asked)
            return None

    def _finish(
        self, token: tuple[Explainer, Settings], result: Any, error: BaseException | None
    ) -> None:
        explainer, asked = token
        if explainer is not self._explainer:
            return  # a job of images that show() has since replaced
        if error is not None:
            return self._show_error(error, asked)
        explanation, activations = result
        explainer.store(asked, explanation, activations)
        self._apply(asked, explanation)

    def _apply(self, asked: Settings, explanation: Explanation) -> None:
        """Show a computed (or cached) map; adopt what it resolved if it is still current."""
        current = self._settings
        if replace(asked, opacity=0.0, colormap="") == replace(current, opacity=0.0, colormap=""):
            done = explanation.settings
            self._settings = replace(current, layer=done.layer, target=done.target)
            self._sync_controls()
        if (
            self._n_classes is None
            and explanation.predictions is not None
            and not callable(explanation.settings.target)
        ):
            self._n_classes = int(explanation.predictions.shape[-1])
            self.controls["target"].max = max(self._n_classes - 1, 0)
            self._sync_controls()
        previous = self._shown_image
        self._shown = explanation
        self._shown_image = self._images.display(
            explanation.settings.image, explanation.settings.input_index
        )
        self._set_error("")
        self._update_labels(explanation)
        self._repaint_now(_PANELS if previous is not self._shown_image else ("heatmap", "overlay"))

    def _show_error(self, error: BaseException, asked: Settings | None = None) -> None:
        self.last_error = error
        message = (
            str(error)
            if isinstance(error, (ValueError, TypeError))
            else (f"{type(error).__name__}: {error}")
        )
        self._set_error(message or type(error).__name__)
        self._shown = None
        image = None
        if asked is not None and self._images is not None:
            try:
                image = self._images.display(asked.image, asked.input_index)
            except Exception:
                image = None
        self._shown_image = image
        self.status.value = (
            "✗ could not explain this setting (see below); change a control to retry"
        )
        self._update_labels(None)
        self._repaint_now(_PANELS)

    def _set_error(self, message: str) -> None:
        self._error_text = message
        self.error_box.value = (
            f'<div class="cam-widgets-error">⚠ {html.escape(message)}</div>' if message else ""
        )
        self.error_box.layout.display = None if message else "none"

    def _set_busy(self, busy: bool) -> None:
        if busy:
            self.status.value = "⏳ computing…"

    def _update_labels(self, e: Explanation | None) -> None:
        if e is None:
            self.class_label.value = ""
            self.top5.layout.display = "none"
            return
        s = e.settings
        n_classes = self._n_classes or 0
        probabilities = e.predictions is not None and _looks_like_probabilities(e.predictions)
        if callable(s.target):
            name = getattr(s.target, "__name__", "callable target")
            self.class_label.value = f"target <b>{html.escape(name)}</b> · score {e.score:.4g}"
        else:
            extra = ""
            if e.predictions is not None and 0 <= e.target < e.predictions.shape[-1]:
                label = "p" if probabilities else "output"
                extra = f" · {label} {float(e.predictions[e.target]):.3g}"
            self.class_label.value = (
                f"<b>{html.escape(self._name(e.target, n_classes))}</b> (class {e.target})"
                f" · score {e.score:.4g}{extra}"
            )
        show_top = e.predictions is not None and not callable(s.target) and e.predictions.size > 1
        self.top5.layout.display = None if show_top else "none"
        if show_top:
            order = np.argsort(-e.predictions)[: len(self.top5_buttons)]
            self._top5_classes = [int(i) for i in order]
            for button, index in zip(self.top5_buttons, order):
                button.description = (
                    f"{self._name(int(index), n_classes)} {float(e.predictions[index]):.2f}"
                )
                button.button_style = "info" if int(index) == e.target else ""
                button.tooltip = f"explain class {int(index)}"
                button.layout.display = None
            for button in self.top5_buttons[len(order) :]:
                button.layout.display = "none"
        where = ""
        if s.layer is not None and self._kernel.get_method(s.method).uses_layer:
            shapes = {i.path: i.output_shape[1:3] for i in self.layers}
            size = "×".join(map(str, shapes.get(s.layer, ())))
            where = f" · layer {html.escape(str(s.layer))}" + (f" ({size})" if size else "")
        guided = " + guided ReLU" if s.guided else ""
        took = f"{e.seconds * 1000:.0f} ms, {e.source}" if e.source != "cached" else "cached"
        note = f" · {html.escape(e.note)}" if e.note else ""
        self.status.value = f"✓ {html.escape(s.method)}{guided}{where} · {took}{note}"

    # ------------------------------------------------------------------ painting
    def _repaint_soon(self, parts: Sequence[str]) -> None:
        self._repaint_parts.update(parts)
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return self._repaint_now()
        if not self._repaint_scheduled:
            self._repaint_scheduled = True
            loop.call_soon(self._repaint_now)

    def _compose(self) -> dict[str, np.ndarray]:
        image = self._shown_image
        if image is None:
            height, width = self._frames["image"].shape[:2] if self._frames else (64, 64)
            image = np.full((height, width, 4), 238, np.uint8)
            image[..., 3] = 255
        s, e = self._settings, self._shown
        if e is None:
            heat = np.full_like(image, 128)
            heat[..., 3] = 255
            return {"image": image, "heatmap": heat, "overlay": image}
        memo_key = (id(e.map), s.colormap)
        if self._heat_memo is None or self._heat_memo[0] != memo_key:
            self._heat_memo = (memo_key, render.colorize(e.map, s.colormap))
        heat = self._heat_memo[1]
        return {"image": image, "heatmap": heat, "overlay": render.blend(image, heat, s.opacity)}

    def _repaint_now(self, parts: Sequence[str] | None = None) -> None:
        """Composite on the Python side, then send the changed panels in one message."""
        parts = set(parts or ()) | self._repaint_parts
        self._repaint_parts.clear()
        self._repaint_scheduled = False
        frames = self._compose()
        height, width = frames["image"].shape[:2]
        resized = self._size_canvases(height, width)
        if resized:
            parts = set(_PANELS)
        self._frames = frames
        names = [name for name in _PANELS if name in parts]
        pngs = _encode_panels([frames[name] for name in names])
        with hold_canvas():
            for name, png in zip(names, pngs):
                try:
                    _put_png(self.canvases[name], frames[name], png)
                except Exception as e:  # never leave hold_canvas with an exception
                    self._set_error(f"could not draw the {name}: {e}")

    def _size_canvases(self, height: int, width: int) -> bool:
        first = self.canvases["image"]
        if (first.width, first.height) == (width, height):
            return False
        scale = _PANEL_PX / max(height, width)
        if scale >= 1:
            scale = float(int(scale))  # whole CSS pixels per image pixel: exact, pixelated
        for canvas in self.canvases.values():
            canvas.width, canvas.height = width, height
            canvas.layout.width = f"{round(width * scale)}px"
            canvas.layout.height = f"{round(height * scale)}px"
            if scale >= 1:
                canvas.add_class(_PIXELATED)
            else:
                canvas.remove_class(_PIXELATED)
        return True

    def _png(self) -> bytes | None:
        """The view as a PNG for saved notebooks, small images enlarged (nearest) so a
        64-pixel picture is still readable on GitHub."""
        try:
            view = self.snapshot()
        except RuntimeError:
            return None
        scale = max(1, _SAVED_PNG_HEIGHT // view.shape[0])
        return render.encode_png(np.repeat(np.repeat(view, scale, axis=0), scale, axis=1))


def _looks_like_probabilities(values: np.ndarray) -> bool:
    return bool(values.min() >= 0.0 and values.max() <= 1.0 and abs(values.sum() - 1.0) < 1e-3)
