"""The viewer's side of `CamViewer.to_html`: gather the image and the maps of the top
classes at the chosen layers (from the explainer's cache, or computed through it), turn
them into PNGs (`compose`, `render`) and hand them to the page writer (`cam_widgets.export`);
and the "Save HTML" button beside the download link."""

from __future__ import annotations

import html
import os
from dataclasses import replace
from typing import Any

import ipywidgets as widgets
import numpy as np

from cam_widgets import render
from cam_widgets.export import MapView, ViewerPage, viewer_html
from cam_widgets.viewer import checks, compose
from cam_widgets.viewer.explainer import Explanation
from cam_widgets.viewer.layout import PANEL_PX
from cam_widgets.viewer.state import Settings

SAVE_NAME = "cam_view.html"  # the button's file, in the kernel's working directory


def _explanation(explainer: Any, s: Settings) -> Explanation:
    """The map for `s`: the cached one, else one kernel call (stored in the cache)."""
    hit = explainer.cached(s)
    if hit is not None:
        return hit
    explanation, activations = explainer.job(s, quick=False)()
    explainer.store(s, explanation, activations)
    return explanation


def _view(explainer: Any, words: Any, e: Explanation, scale: str) -> MapView:
    """One map as the page shows it: colours as the viewer paints them (`Session.repaint`)."""
    s = e.settings
    peak = explainer.shared_peak(s) if scale == "shared" else None
    colours = compose.colour_scale(e.values, e.signed, s.colormap, scale, peak)
    values, bar = e.values, colours
    if scale == "map" and not e.signed:  # the kernel's own [0, 1] map, as painted
        values, colours = e.map, replace(colours, low=0.0, high=1.0)
    palette = compose.palette(colours.colormap)
    heat = render.encode_indexed_png(compose.heat_indices(values, colours), palette)
    ramp = render.encode_indexed_png(np.arange(256, dtype=np.uint8)[None], palette)
    labels = tuple(compose.format_value(v) for v in (bar.low, (bar.low + bar.high) / 2,
                                                      bar.high))
    label = (words.class_text(s.target) if not callable(s.target) else "target") or "class"
    return MapView(int(e.target), f"{label} · {words.score_text(e)}",
                   s.layer if explainer.uses_layer(s.method) else None, heat, ramp,
                   labels, tuple(words.figure_captions(e, "")))


def viewer_page(viewer: Any, wiring: Any, classes: int, layers: Any,
                title: str | None) -> ViewerPage:
    """The page of the shown image: the top `classes` classes x `layers` (None: the
    layer menu's) for the current method and options."""
    classes = checks.classes(classes)
    session = wiring.session
    viewer.flush()
    explainer = session.explainer
    if explainer is None or session.images is None:
        raise RuntimeError("nothing is shown yet: call show(image) before to_html")
    s = explainer.resolve(viewer.settings)
    if explainer.uses_layer(s.method):
        known = [info.path for info in wiring.facts.all_layers]
        paths = wiring.panel.paths() if layers is None else checks.layers(layers, known)
    else:
        paths = [s.layer]
    if callable(s.target):
        targets: list[Any] = [s.target]
    else:
        first = _explanation(explainer, s)
        predictions = explainer.predictions.get(s.image_index, first.predictions)
        if predictions is None:
            targets = [first.target]
        else:  # the shown class first, then the top others
            order = [int(i) for i in np.argsort(-np.asarray(predictions, np.float64))]
            targets = [first.target, *[c for c in order if c != first.target]][:classes]
    # layer by layer, so each layer's output is computed once for all classes (the
    # activation cache holds fewer layers than a menu may list); shown class by class
    found = {(t, p): _explanation(explainer, replace(s, target=t, layer=p))
             for p in paths for t in targets}
    views = [_view(explainer, wiring.words, found[t, p], s.scale)
             for t in targets for p in paths]
    image = session.images.display(s.image_index, s.input_index)
    return ViewerPage(
        title or "Where the model looks", render.encode_png(render.to_rgba8(render.to_rgb8(image))),
        tuple(views), s.opacity, pixelated=max(image.shape[:2]) <= PANEL_PX,
        first=paths.index(s.layer) if s.layer in paths else 0,  # first class: the shown
        note=f"{s.method} · image {s.image_index}: top {len(targets)} classes at "
             f"{len(paths)} layer(s); pick a class, a layer and the opacity below")


def write_html(viewer: Any, wiring: Any, path: str | os.PathLike[str], classes: int,
               layers: Any, title: str | None) -> int:
    """Write the page to `path`; returns its size in bytes."""
    text = viewer_html(viewer_page(viewer, wiring, classes, layers, title))
    data = text.encode("utf-8")
    with open(path, "wb") as f:
        f.write(data)
    return len(data)


class SaveButton:
    """"Save HTML": writes `SAVE_NAME` (`CamViewer.to_html`) and says where, or why not."""

    def __init__(self, viewer: Any) -> None:
        self.viewer = viewer
        self.button = widgets.Button(description="Save HTML", icon="download",
                                     tooltip="write the views of the top 5 classes at the "
                                             "menu's layers to one offline HTML file",
                                     layout=widgets.Layout(width="auto", min_width="110px",
                                                           flex="0 0 auto"))
        self.note = widgets.HTML(layout=widgets.Layout(flex="1 1 auto", min_width="0"))
        self.box = widgets.HBox([self.button, self.note],
                                layout=widgets.Layout(align_items="center"))
        self.button.on_click(lambda _: self.save())

    def save(self) -> None:
        try:
            size = self.viewer.to_html(SAVE_NAME)
        except Exception as e:  # shown beside the button, never raised into the page
            self.note.value = f"<small>not saved: {html.escape(str(e) or type(e).__name__)}</small>"
            return
        where = html.escape(os.path.abspath(SAVE_NAME), quote=True)
        self.note.value = (f'<small title="{where}">saved {SAVE_NAME} ({size / 1e6:.1f} MB) '
                           "in the kernel's folder: open it in any browser, offline</small>")
