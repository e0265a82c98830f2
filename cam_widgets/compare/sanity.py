"""The sanity check under a comparison's grid (Adebayo et al. 2018, "Sanity Checks for
Saliency Maps"): pick one of the grid's methods, and its map is drawn as the model's
layers are randomised from the top, each step with its rank correlation to the original.
A faithful method's map falls apart; one that only shows edges does not. Runs on its own
`LatestWins` (one kernel call at a time), drawn with the viewer's strips."""
from __future__ import annotations

import html
from collections.abc import Callable, Sequence
from typing import Any

import ipywidgets as widgets
import numpy as np

from cam_widgets.viewer import strips
from cam_widgets.viewer.scheduler import KERNEL_LOCK, LatestWins
from cam_widgets.viewer.teaching import strip_items


class CompareSanity:
    """A method menu and a "sanity check" button; the strip of the last check below."""

    def __init__(self, methods: Sequence[str],
                 request: Callable[[str], Callable[[], Any] | None],
                 image: Callable[[], np.ndarray | None],
                 look: Callable[[], tuple[str, float]]) -> None:
        """`request(method)` gives the job that runs the check (None before an image is
        shown); `image()` the picture the maps are drawn over; `look()` the colormap and
        opacity."""
        self._request, self._image, self._look = request, image, look
        self.method = widgets.Dropdown(options=list(methods), description="method",
                                       layout=widgets.Layout(width="auto"))
        self.button = widgets.Button(
            description="sanity check",
            tooltip="randomise the model's layers from the top and watch this method's map")
        self.button.on_click(lambda _: self.run(self.method.value))
        self.note = widgets.HTML()
        self.strip = widgets.Box(layout=widgets.Layout(display="flex", flex_flow="row wrap",
                                                       width="100%"))
        self.box = widgets.VBox([widgets.HBox([self.method, self.button],
                                              layout=widgets.Layout(flex_flow="row wrap")),
                                 self.note, self.strip])
        self.check: Any = None  # the last SanityCheck shown
        self._wanted: str | None = None
        self.scheduler = LatestWins(self._prepare, self._finish, lambda busy: None)

    def run(self, method: str) -> None:
        """Check `method` for the grid's image and class."""
        self.method.value = method
        self._wanted = method
        self.note.value = html.escape(f"sanity check of {method}: computing...")
        self.scheduler.request()

    def clear(self) -> None:
        """Forget the strip (a new image or class)."""
        self.check, self._wanted = None, None
        self.note.value, self.strip.children = "", ()

    def _prepare(self) -> tuple[Any, Callable[[], Any]] | None:
        method, self._wanted = self._wanted, None
        job = None if method is None else self._request(method)
        if job is None:
            return None

        def locked():
            with KERNEL_LOCK:
                return job()
        return method, locked

    def _finish(self, method: Any, result: Any, error: BaseException | None) -> None:
        if error is not None:
            self.note.value = html.escape(f"sanity check of {method}: "
                                          f"{type(error).__name__}: {error}")
            return
        self.check = result
        self.note.value = html.escape(f"{method}: {strips.SANITY_TITLE}")
        self.repaint()

    def repaint(self) -> None:
        """Draw the strip again (a colormap or opacity change)."""
        image = self._image()
        if self.check is not None and image is not None:
            self.strip.children = strip_items(*strips.sanity_cells(self.check, image,
                                                                   *self._look()))

    def picture(self, width: int) -> np.ndarray | None:
        """The strip as a picture `width` pixels wide (for `snapshot()`), None if none."""
        image = self._image()
        if self.check is None or image is None:
            return None
        title = f"{self.method.value}: {strips.SANITY_TITLE}"
        return strips.strip(*strips.sanity_cells(self.check, image, *self._look()), width,
                            title)
