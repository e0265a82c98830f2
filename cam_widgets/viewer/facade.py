"""CamViewer: where a Keras image model looks, live in Jupyter.

The facade: settings are traitlets (set them from code or move a control: the same path),
checked by `checks`; `show()` returns the widget, `snapshot()`/`save()` give the
captioned figure, `flush()` waits until the view is drawn, `parts` names the page's
widgets. `load_kernel()` is the viewer's one way into the kernel. How a setting becomes
pixels is told in the package's docstring (`cam_widgets.viewer`).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from types import SimpleNamespace
from typing import Any

import numpy as np
from traitlets import Any as AnyTrait
from traitlets import Bool, Dict, Float, HasTraits, Int, TraitError, Unicode, validate

from cam_widgets import render
from cam_widgets.class_names import ClassNames
from cam_widgets.viewer import checks, compose
from cam_widgets.viewer.state import EFFECTS, RECOMPUTE, ImageSet, Settings
from cam_widgets.viewer.transport import CanvasTransport
from cam_widgets.viewer.wiring import Parts, Wiring

__all__ = ["CamViewer"]


class SettingError(TraitError, ValueError):
    """A setting given a value it cannot take (a ValueError, as traitlets wants a TraitError)."""


def load_kernel() -> SimpleNamespace:
    """Everything the viewer uses of the kernel, in one namespace: the one place the
    viewer imports the kernel (and so TensorFlow), when a `CamViewer` is made; tests
    wrap or replace it."""
    from cam_widgets.kernel import (
        SegmentationTarget, class_count, explain, list_layers, predicted_classes,
        quick_first_call)
    from cam_widgets.kernel.layer_choice import main_layers
    from cam_widgets.kernel.layers import resolve_layer
    from cam_widgets.kernel.methods import get_method, method_names
    from cam_widgets.kernel.model_file import load_model
    from cam_widgets.kernel.segmentation import is_dense_output
    from cam_widgets.kernel.targets import looks_like_probabilities
    from cam_widgets.metrics import sanity_check

    return SimpleNamespace(explain=explain, list_layers=list_layers, main_layers=main_layers,
                           method_names=method_names, get_method=get_method,
                           class_count=class_count, predicted_classes=predicted_classes,
                           is_dense_output=is_dense_output,
                           SegmentationTarget=SegmentationTarget,
                           looks_like_probabilities=looks_like_probabilities,
                           quick_first_call=quick_first_call,
                           sanity_check=sanity_check, load_model=load_model,
                           resolve_layer=resolve_layer)


class CamViewer(HasTraits):
    """Interactive Grad-CAM (and friends) for a Keras image model, in Jupyter.

    A segmentation model (one dense output (B, H, W, K) or (B, H, W)) explains the chosen
    class over the pixels predicted as it (`SegmentationTarget`); the `region` trait,
    ``(x0, y0, x1, y1)`` in pixels of the image as shown (ends excluded), or a rectangle
    dragged on the image panel, explains that region only; None returns to the predicted
    region.

    Parameters
    ----------
    model : keras.Model, or the path (str or PathLike) of a saved one, loaded as
        `explain_to_parquet` loads it.
    class_names : list of str, dict {index: name}, a decoder such as
        ``keras.applications.imagenet_utils.decode_predictions``, or "imagenet".
    preprocess : callable, optional: (1, H, W, C) raw image -> the model's input.
    layer, method, target, guided, opacity, colormap, scale, input_index :
        the starting settings (traits of the same names; see `Settings`).
    max_display : int
        longest side of the image as shown.
    cache_size : int
        maps kept.
    prefetch : bool, optional
        pre-trace the next likely actions in the background after each new map (None:
        only in a notebook, i.e. with a running event loop).
    """

    transport_class: type[CanvasTransport] = CanvasTransport  # tests swap in a recorder

    method = Unicode("gradcam")
    layer = AnyTrait(None, allow_none=True)
    target = AnyTrait(None, allow_none=True)
    guided = Bool(False)
    opacity = Float(0.5)
    colormap = Unicode(compose.AUTO)
    scale = Unicode("map")
    image_index = Int(0)
    input_index = Int(0)
    options = Dict()  # the method's declared options (`cam_widgets.methods()`), not defaults
    region = AnyTrait(None, allow_none=True)  # segmentation: (x0, y0, x1, y1) in shown pixels
    depths = Bool(False)  # the "all depths" strip: the map at every layer of the menu

    def __init__(
        self,
        model: Any,
        class_names: Sequence[str] | Mapping[int, str] | Callable[..., Any] | str | None = None,
        preprocess: Callable[[np.ndarray], Any] | None = None,
        layer: str | int | None = None,
        method: str = "gradcam",
        *,
        target: int | Callable[[Any], Any] | None = None,
        input_index: int = 0,
        guided: bool = False,
        opacity: float = 0.5,
        colormap: str = compose.AUTO,
        scale: str = "map",
        max_display: int = 448,
        cache_size: int = 32,
        prefetch: bool | None = None,
    ) -> None:
        self._kernel = load_kernel()
        if isinstance(model, (str, os.PathLike)):
            model = self._kernel.load_model(model)
        self.model, self.preprocess = model, preprocess
        try:  # a bad layer fails here, as a bad method does (its trait check)
            checks.layer(self._kernel, model, layer, int(input_index))
        except (TypeError, ValueError) as e:
            raise SettingError(str(e)) from None
        self.class_names = ClassNames(class_names)
        self._max_display = int(max_display)
        super().__init__(method=method, layer=layer, target=target, guided=bool(guided),
                         opacity=float(opacity), colormap=colormap, scale=scale,
                         input_index=int(input_index))
        self._wiring = Wiring(self, self._kernel, self.class_names, self.transport_class(),
                              int(cache_size), prefetch)
        self.observe(self._on_setting, names=list(EFFECTS))
        self.observe(lambda change: self._wiring.teaching.depths_changed(change["new"]),
                     names=["depths"])

    # ------------------------------------------------------------------ validation
    @validate("method", "colormap", "options", "region", "scale", "opacity", "target")
    def _check_setting(self, proposal: dict[str, Any]) -> Any:
        """Refuse a value a setting cannot take (`checks`), as a SettingError."""
        name, value = proposal["trait"].name, proposal["value"]
        try:
            if name == "method":
                return checks.method(self._kernel, value)
            if name == "options":
                return checks.options(self._kernel, self.method, value)
            if name == "region":
                wiring = self.__dict__.get("_wiring")
                return checks.region(value, None if wiring is None
                                     else wiring.facts.dense is not None)
            return getattr(checks, name)(value)
        except (TypeError, ValueError) as e:
            raise SettingError(str(e)) from None

    def _on_setting(self, change: dict[str, Any]) -> None:
        self._wiring.setting_changed(change["name"], EFFECTS[change["name"]] == RECOMPUTE)

    # ------------------------------------------------------------------ public API
    def __repr__(self) -> str:
        """One line for a viewer left as a cell's value: what to call to see it."""
        name = getattr(self.model, "name", type(self.model).__name__)
        return (f"<CamViewer of {name!r} ({self.method}): call .show(img) to explain an "
                f"image; .widget is the page once shown>")

    @property
    def settings(self) -> Settings:
        """The current settings as one frozen value."""
        return Settings.of(self)

    def sanity_check(self) -> None:
        """Run the sanity check on the shown image, method and class (the button does):
        its strip shows the maps as the layers are randomised from the top."""
        self._wiring.teaching.request("sanity")
        self.flush()

    def show(self, images: Any) -> Any:
        """Explain one image, a batch (B, H, W, C) or a list of images; returns the widget.
        For a multi-input model pass one image (or batch) per input, as a list."""
        w = self._wiring
        w.session.scheduler.flush()
        facts = w.facts
        try:
            loaded = ImageSet(images, len(facts.inputs), facts.input_channels(),
                              self.preprocess, self._max_display, facts.input_sizes())
        except (ValueError, TypeError) as e:
            w.session.clear()
            w.session.fail(e)
            return w.layout.widget
        w.session.load(loaded)
        w.new_images()
        w.session.scheduler.flush()
        return w.layout.widget

    def flush(self) -> None:
        """Apply every pending change now and wait until it is drawn."""
        self._wiring.flush()

    async def wait(self, timeout: float = 60.0) -> None:
        """In a running event loop: wait until every pending change has been drawn."""
        await self._wiring.session.scheduler.wait(timeout)

    def snapshot(self) -> np.ndarray:
        """The current view as one captioned figure, uint8 RGBA: the caption lines, image |
        heatmap | overlay, and the colour bar (what saved notebooks and `save` show), then
        the "all depths" and sanity-check strips when they are shown."""
        self.flush()
        return self._wiring.pictures.figure()

    def panels(self) -> np.ndarray:
        """The three canvases as drawn: uint8 (H, 3W, 4), image | heatmap | overlay."""
        self.flush()
        frame = self._wiring.painter.frame
        if frame is None:
            raise RuntimeError("nothing is drawn yet: call show(image) first")
        return frame.panels()

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write `snapshot()` to `path` as a PNG."""
        with open(path, "wb") as f:
            f.write(render.encode_png(self.snapshot()))

    def to_html(self, path: str | os.PathLike[str], classes: int = 5,
                layers: Sequence[str] | None = None, title: str | None = None) -> int:
        """Write the shown image's maps to ONE self-contained HTML file (no network, no
        Python needed to view it): the top `classes` classes at `layers` (None: the layer
        menu's) for the current method, with captions, colour bars and buttons that switch
        class, layer and opacity. Maps already computed come from the cache. Returns the
        file's size in bytes."""
        from cam_widgets.viewer.html_export import write_html

        return write_html(self, self._wiring, path, classes, layers, title)

    @property
    def widget(self) -> Any:
        """The widget `show()` returns."""
        return self._wiring.layout.widget

    @property
    def parts(self) -> Parts:
        """The page's widgets by name (controls, status line, top-5 buttons, canvases, the
        transport, ...), for notebooks that restyle the page and for tests (see `Parts`).
        From code, set the settings as traits (`viewer.layer = ...`): a control moved
        sets its trait the same way."""
        return self._wiring.parts

    @property
    def current_map(self) -> np.ndarray | None:
        """The map drawn now: float32 (h, w) in [0, 1] at the display size (None if none)."""
        shown = self._wiring.session.shown
        return None if shown is None else shown.map

    @property
    def error(self) -> str | None:
        """The message shown in the widget, or None when all is well."""
        return self._wiring.error_text or None

    @property
    def last_error(self) -> BaseException | None:
        return self._wiring.last_error
