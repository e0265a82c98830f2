"""CamViewer: where a Keras image model looks, live in Jupyter.

The facade: settings are traitlets (set them from code or move a control: the same path),
`show()` returns the widget, `snapshot()`/`save()` give the captioned figure, `flush()`
waits until the view is drawn. The parts: `controls` (one table), `session` (compute
and paint), `compose` (pure pixels), `transport` (the only ipycanvas user), `layout`.
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
from cam_widgets.viewer import compose
from cam_widgets.viewer.regions import check_region
from cam_widgets.viewer.state import EFFECTS, RECOMPUTE, ImageSet, Settings
from cam_widgets.viewer.transport import CanvasTransport
from cam_widgets.viewer.wiring import Wiring

__all__ = ["CamViewer"]


class SettingError(TraitError, ValueError):
    """A setting given a value it cannot take (a ValueError, as traitlets wants a TraitError)."""


def load_kernel() -> SimpleNamespace:
    """The kernel functions the viewer calls (one place, so tests can wrap them)."""
    from cam_widgets.kernel import class_count, explain, list_layers, predicted_classes
    from cam_widgets.kernel.layer_choice import main_layers
    from cam_widgets.kernel.methods import get_method, method_names

    return SimpleNamespace(explain=explain, list_layers=list_layers, main_layers=main_layers,
                           method_names=method_names, get_method=get_method,
                           class_count=class_count, predicted_classes=predicted_classes)


class CamViewer(HasTraits):
    """Interactive Grad-CAM (and friends) for a Keras image model, in Jupyter.

    A segmentation model (one dense output (B, H, W, K) or (B, H, W)) explains the chosen
    class over the pixels predicted as it (`SegmentationTarget`); the `region` trait,
    ``(x0, y0, x1, y1)`` in pixels of the image as shown (ends excluded), or a rectangle
    dragged on the image panel, explains that region only; None returns to the predicted
    region.

    Parameters
    ----------
    model : keras.Model
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
        self.model, self.preprocess = model, preprocess
        self._kernel = load_kernel()
        self.class_names = ClassNames(class_names)
        self._max_display = int(max_display)
        super().__init__(method=method, layer=layer, target=target, guided=bool(guided),
                         opacity=float(opacity), colormap=colormap, scale=scale,
                         input_index=int(input_index))
        self._wiring = Wiring(self, self._kernel, self.transport_class(), int(cache_size),
                              prefetch)
        self.observe(self._on_setting, names=list(EFFECTS))

    # ------------------------------------------------------------------ validation
    @validate("method")
    def _check_method(self, proposal: dict[str, Any]) -> str:
        try:
            self._kernel.get_method(proposal["value"])
        except ValueError as e:
            raise SettingError(str(e)) from None
        return proposal["value"]

    @validate("colormap")
    def _check_colormap(self, proposal: dict[str, Any]) -> str:
        value = proposal["value"]
        if value != compose.AUTO and value not in render.COLORMAPS:
            raise SettingError(
                f"colormap must be 'auto' or one of {list(render.COLORMAPS)}, got {value!r}")
        return value

    @validate("options")
    def _check_options(self, proposal: dict[str, Any]) -> dict[str, Any]:
        try:
            self._kernel.get_method(self.method).check_options(proposal["value"])
        except (TypeError, ValueError) as e:
            raise SettingError(str(e)) from None
        return dict(proposal["value"])

    @validate("region")
    def _check_region(self, proposal: dict[str, Any]) -> Any:
        try:
            region = check_region(proposal["value"])
        except ValueError as e:
            raise SettingError(str(e)) from None
        wiring = self.__dict__.get("_wiring")
        if region is not None and wiring is not None and wiring.dense is None:
            raise SettingError(
                "region applies to segmentation models (one dense output (batch, height, "
                "width, classes)); this model's output names whole-image classes, so there "
                "is no region to choose: leave region=None")
        return region

    @validate("scale")
    def _check_scale(self, proposal: dict[str, Any]) -> str:
        if proposal["value"] not in ("map", "shared"):
            raise SettingError(f"scale expected any of ['map', 'shared'], got {proposal['value']!r}")
        return proposal["value"]

    @validate("opacity")
    def _check_opacity(self, proposal: dict[str, Any]) -> float:
        if not 0.0 <= proposal["value"] <= 1.0:
            raise SettingError(f"opacity must be in [0, 1], got {proposal['value']}")
        return proposal["value"]

    @validate("target")
    def _check_target(self, proposal: dict[str, Any]) -> Any:
        value = proposal["value"]
        if value is None or callable(value):
            return value
        if isinstance(value, (int, np.integer)) and not isinstance(value, bool) and value >= 0:
            return int(value)
        raise SettingError(f"target must be None, a class index >= 0 or a callable, got {value!r}")

    def _on_setting(self, change: dict[str, Any]) -> None:
        self._wiring.setting_changed(change["name"], EFFECTS[change["name"]] == RECOMPUTE)

    # ------------------------------------------------------------------ public API
    @property
    def settings(self) -> Settings:
        """The current settings as one frozen value."""
        return Settings(image_index=self.image_index, input_index=self.input_index,
                        layer=self.layer, target=self.target, method=self.method,
                        guided=self.guided, opacity=self.opacity, colormap=self.colormap,
                        scale=self.scale, options=tuple(sorted(self.options.items())),
                        region=self.region)

    def show(self, images: Any) -> Any:
        """Explain one image, a batch (B, H, W, C) or a list of images; returns the widget.
        For a multi-input model pass one image (or batch) per input, as a list."""
        w = self._wiring
        w.session.scheduler.flush()
        try:
            loaded = ImageSet(images, len(w.inputs), [c for _, _, c in w.inputs],
                              self.preprocess, self._max_display,
                              [tuple(shape[1:3]) if len(shape) == 4 else (None, None)
                               for _, shape, _ in w.inputs])
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
        heatmap | overlay, and the colour bar (what saved notebooks and `save` show)."""
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

    @property
    def widget(self) -> Any:
        return self._wiring.layout.widget

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

    def __getattr__(self, name: str) -> Any:
        # the page's parts, for notebooks and tests: controls, canvases, status, ...
        if name in ("controls", "canvases", "status", "class_label", "caption", "top5_buttons",
                    "error_box", "transport", "download", "follow", "layout", "prefetcher", "session", "method_options",
                    "drawing"):
            wiring = self.__dict__.get("_wiring")
            if wiring is not None:
                return getattr(wiring, name)
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
