"""One `show()`'s working state: images, explainer, scheduler and painter, and what to do
when a computation finishes or fails. The facade feeds it settings; it feeds the page."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import numpy as np

from cam_widgets.viewer import compose
from cam_widgets.viewer.explainer import Explainer, Explanation
from cam_widgets.viewer.failures import IMAGE, KERNEL, Failure, describe
from cam_widgets.viewer.map_notes import same_maps
from cam_widgets.viewer.painter import Painter
from cam_widgets.viewer.regions import DenseOutput, clipped
from cam_widgets.viewer.scheduler import LatestWins
from cam_widgets.viewer.state import ImageSet, Settings

BUSY_AFTER = 0.15  # seconds a computation runs before the panels dim


class Session:
    """Computes and paints the view for the current settings (`settings()` reads them)."""

    def __init__(self, kernel: Any, model: Any, painter: Painter,
                 settings: Callable[[], Settings], on_done: Callable[[Explanation | None], None],
                 on_error: Callable[[BaseException], None], on_busy: Callable[[bool], None],
                 cache_size: int, dense: DenseOutput | None = None) -> None:
        self.kernel, self.model, self.painter = kernel, model, painter
        self.dense = dense  # a segmentation model's output (None: a classifier)
        self._settings, self._on_done, self._on_error = settings, on_done, on_error
        self._on_busy = on_busy
        self.cache_size = cache_size
        self.traced: set[tuple] = set()  # kinds of kernel call made (prefetch skips them)
        self.images: ImageSet | None = None
        self.explainer: Explainer | None = None
        self.shown: Explanation | None = None
        self.shown_image: np.ndarray | None = None
        self.bar_colours: compose.ColourScale | None = None  # the colour bar's scale
        self.failed_at = ""  # where the last failure happened (`failures.IMAGE`, `KERNEL`)
        self.scheduler = LatestWins(self._prepare, self._finish, self._busy)
        self._busy_timer: asyncio.TimerHandle | None = None

    def load(self, images: ImageSet) -> None:
        self.images = images
        self.explainer = Explainer(self.kernel, self.model, images, self.cache_size,
                                   traced=self.traced, dense=self.dense)
        self.shown = self.shown_image = None

    def clear(self) -> None:
        self.images = self.explainer = self.shown = self.shown_image = None

    # ---------------------------------------------------------------- scheduling
    def _prepare(self) -> tuple[Any, Callable[[], Any]] | None:
        asked, explainer = self._settings(), self.explainer
        if explainer is None:
            return None
        try:
            hit = explainer.cached(asked)
            if hit is not None:
                self.apply(hit)
                return None
            return (explainer, asked), explainer.job(asked)
        except Exception as e:  # a bad image, a failing preprocess: shown, never raised
            self.fail(e, asked, IMAGE)
            return None

    def _finish(self, token: tuple[Explainer, Settings], result: Any,
                error: BaseException | None) -> None:
        explainer, asked = token
        if explainer is not self.explainer:
            return  # a job of images that show() has since replaced
        if error is not None:
            return self.fail(error, asked, KERNEL)
        explanation, activations = result
        explainer.store(asked, explanation, activations)
        self.apply(explanation)

    def _busy(self, busy: bool) -> None:
        if self._busy_timer is not None:
            self._busy_timer.cancel()
            self._busy_timer = None
        if busy:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:
                return  # a script waits anyway: nothing to show
            self._busy_timer = loop.call_later(BUSY_AFTER, self._on_busy, True)
        else:
            self._on_busy(False)

    # ---------------------------------------------------------------- results
    def apply(self, explanation: Explanation) -> None:
        """Show a computed (or cached) map."""
        s = explanation.settings
        self.shown = explanation
        self.shown_image = self.images.display(s.image_index, s.input_index)
        self.repaint()
        self._on_done(explanation)

    def fail(self, error: BaseException, asked: Settings | None = None,
             stage: str = IMAGE) -> None:
        """Show `error` (`stage`: where it happened, see `failures`) with the image alone."""
        self.failed_at = stage
        self.shown = None
        image = None
        if asked is not None and self.images is not None:
            try:
                image = self.images.display(asked.image_index, asked.input_index)
            except Exception:
                image = None
        self.shown_image = image
        self.repaint()
        self._on_error(error)

    def failure(self, error: BaseException) -> Failure:
        """The last failure as the page says it (`failures.describe`): where it happened,
        whether the model has given a map for this image before, and whether there are
        other images to pick."""
        explainer, images = self.explainer, self.images
        ran = explainer is not None and self._settings().image_index in explainer.predictions
        return describe(error, self.failed_at, ran_before=ran,
                        several_images=images is not None and len(images) > 1)

    def same_maps(self, e: Explanation) -> list[str]:
        """The other methods whose cached map of `e`'s view is the same picture."""
        explainer = self.explainer
        if explainer is None:
            return []
        return same_maps(e, [hit for _, hit in explainer.results.items()],
                         explainer.uses_layer)

    def colours(self) -> compose.ColourScale | None:
        e, s = self.shown, self._settings()
        if e is None or e.values is None:
            return None
        peak = self.explainer.shared_peak(e.settings) if s.scale == "shared" else None
        return compose.colour_scale(e.values, e.signed, s.colormap, s.scale, peak)

    def repaint(self) -> None:
        """Paint the shown map with the current colours and opacity."""
        e, s = self.shown, self._settings()
        colours = self.colours()
        values = None if e is None else e.values
        if e is not None and colours is not None and s.scale == "map" and not e.signed:
            values = e.map  # the kernel's own [0, 1] map: today's pixels, exactly
            colours = replace(colours, low=0.0, high=1.0)
            shown_range = compose.colour_scale(e.values, False, s.colormap, "map")
            self.bar_colours = shown_range
        else:
            self.bar_colours = colours
        key = None if e is None else (id(e), s.scale)
        region = None
        if e is not None and e.settings.region is not None and not callable(e.settings.target):
            region = clipped(e.settings.region, self.shown_image.shape[:2])
        self.painter.paint(self.shown_image, values, colours, s.opacity, key, region)
