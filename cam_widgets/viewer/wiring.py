"""Builds the parts of one viewer and routes between them: a setting changed (recompute
or repaint), new images, a map computed or failed."""

from __future__ import annotations

import asyncio
import html
from dataclasses import dataclass
from typing import Any

import ipywidgets as widgets

from cam_widgets.viewer import map_notes
from cam_widgets.viewer.drawing import RegionDrawing
from cam_widgets.viewer.explainer import Explanation
from cam_widgets.viewer.html_export import SaveButton
from cam_widgets.viewer.layout import Layout
from cam_widgets.viewer.method_options import MethodOptions
from cam_widgets.viewer.model_facts import ModelFacts
from cam_widgets.viewer.pair_rows import OtherInputs
from cam_widgets.viewer.painter import Painter
from cam_widgets.viewer.panel import ControlPanel
from cam_widgets.viewer.pictures import Pictures
from cam_widgets.viewer.prefetch import Prefetcher, likely_next
from cam_widgets.viewer.session import Session
from cam_widgets.viewer.teaching import TeachingViews
from cam_widgets.viewer.transport import CanvasTransport
from cam_widgets.class_names import ClassNames
from cam_widgets.viewer.words import TopClasses, Words


@dataclass(frozen=True)
class Parts:
    """The page's widgets and the seams behind them (`CamViewer.parts`), for notebooks
    that restyle the page and for tests. Settings are the viewer's traits: set those,
    not these widgets' values, from code."""

    controls: dict[str, widgets.ValueWidget]  # by name, one per `controls.TABLE` row
    method_options: MethodOptions  # .controls: the current method's option controls
    follow: widgets.Checkbox  # "new image: explain its top class"
    top5_buttons: list[widgets.Button]
    depth_label: widgets.HTML
    all_layers: widgets.Checkbox  # "show all layers" in the layer menu
    class_label: widgets.HTML
    caption: widgets.HTML
    status: widgets.HTML
    error_box: widgets.HTML
    download: widgets.HTML
    layout: Layout  # .widget (what show() returns), .boxes: the three panels' boxes
    canvases: dict[str, Any]  # image, heatmap, overlay
    transport: CanvasTransport  # the only ipycanvas user (tests: `RecordingTransport`)
    drawing: RegionDrawing  # segmentation: a rectangle dragged on the image
    prefetcher: Prefetcher  # the pre-traced next likely actions (`prefetch`)
    teaching: TeachingViews  # "all depths" toggle, "sanity check" button, their strips
    other_inputs: OtherInputs  # a pair's other input(s): their rows under the panels
    class_message: widgets.HTML  # beside the class picker: why a typed class was refused


class Wiring:
    """Holds the parts of one viewer and routes setting changes between them."""

    def __init__(self, viewer: Any, kernel: Any, class_names: ClassNames,
                 transport: CanvasTransport, cache_size: int, prefetch: bool | None) -> None:
        self.viewer, self.kernel = viewer, kernel
        self.error_text, self.last_error = "", None
        self.facts = ModelFacts.read(kernel, viewer.model)
        self.painter = Painter(transport)
        self.words = Words(class_names, self.facts, kernel)
        self.top = TopClasses(self.words.name, self._pick)
        self.prefetcher, self._prefetch = Prefetcher(), prefetch
        self.session = Session(kernel, viewer.model, self.painter, lambda: viewer.settings,
                               self._done, self._failed, self._busy, cache_size,
                               self.facts.dense)
        self.drawing = RegionDrawing(
            viewer, transport, self._shown_size,
            lambda: self.painter.frame.outline_rects() if self.painter.frame else [],
            self.facts.dense is not None)
        self.panel = ControlPanel(viewer, kernel, self.facts, self.words)
        self.layout = Layout(transport, self.panel.box(self.top.box, self.drawing.box),
                             lambda: self.pictures.png())
        self.teaching = TeachingViews(viewer, kernel, self.session, self.panel.paths)
        self.others = OtherInputs(viewer, kernel, self.session,
                                  [name for name, _, _ in self.facts.inputs],
                                  lambda: self.layout.panel_px)
        self.save_html = SaveButton(viewer)
        self.layout.save_html.children = (self.save_html.box,)
        self.layout.widget.children = (*self.layout.widget.children, self.others.box,
                                       self.teaching.box)
        self.pictures = Pictures(
            self.layout, self.painter,
            lambda: self.session.bar_colours if self.session.shown is not None else None,
            self._figure_captions,
            self._settle,
            lambda width: self.others.pictures(width) + self.teaching.pictures(width),
            lambda: self.words.file_name(self.session.shown))
        p, lay = self.panel, self.layout
        self.parts = Parts(
            controls=p.controls, method_options=p.method_options, follow=p.follow,
            top5_buttons=self.top.buttons, depth_label=p.depth_label,
            all_layers=p.all_layers_box, class_label=lay.class_label, caption=lay.caption,
            status=lay.status, error_box=lay.error_box, download=lay.download, layout=lay,
            canvases=transport.canvases, transport=transport, drawing=self.drawing,
            prefetcher=self.prefetcher, teaching=self.teaching, other_inputs=self.others,
            class_message=p.class_message)
        self._adjusting = False
        self._pretraced = False
        transport.on_client_ready(transport.redraw)

    def _pick(self, index: int) -> None:
        """A top-5 button: explain its class (unless a callable target fixes the score)."""
        if not self.panel.controls["target"].disabled:
            self.viewer.target = index

    def refresh_controls(self) -> None:
        self.panel.refresh()
        self.drawing.refresh(self.viewer.target)

    # ------------------------------------------------------------------ settings
    def setting_changed(self, name: str, recompute: bool) -> None:
        if self._adjusting:
            return
        v = self.viewer
        if name == "image_index" and not callable(v.target) and self.panel.follow.value:
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
            self.others.repaint()
            self.teaching.repaint()
            self.pictures.schedule()
        else:
            self.session.repaint()
            self.others.repaint()
            self.teaching.repaint()
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
        """`show()` loaded new images into the session: explain the first."""
        self._pretraced = False
        v = self.viewer
        self.panel.images(len(self.session.images))
        follow = self.panel.follow.value
        self._adjust(image_index=0, region=None,
                     target=v.target if callable(v.target) or not follow else None)
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
        if self.facts.n_classes is None and e.predictions is not None \
                and not callable(done.target):
            self.facts.n_classes = int(e.predictions.shape[-1])
            self.panel.fill_classes()
        self.error_text = ""
        self.layout.set_error("")
        self.layout.fit(*self.painter.frame.image.shape[:2])
        self.refresh_controls()
        self._words(e)
        self.pictures.show_colour_bar()
        self.pictures.schedule()
        self.others.map_shown()
        self.teaching.map_shown()
        if e.source != "cached" and not self._pretraced:
            self._pretraced = True  # once per show(): later pre-traces would queue
            self._pretrace(e)        # in front of the user's own next actions

    def _figure_captions(self) -> list[str]:
        """The saved picture's captions, with the page's notes on the map shown."""
        shown = self.session.shown
        same = self.session.same_maps(shown) if shown is not None else []
        return self.words.figure_captions(shown, self.error_text, same)

    def _words(self, e: Explanation | None) -> None:
        """The page's lines about the map shown (or cleared when there is none)."""
        lay = self.layout
        self.top.show(e)
        if e is None:
            lay.class_label.value = lay.caption.value = ""
            return
        images = self.session.images
        fitted = images.notices.get(e.settings.image_index, "") if images else ""
        flat = map_notes.flat_map_note(e, self.kernel.get_method(e.settings.method))
        lay.class_label.value = self.words.class_line(e)
        lay.caption.value = self.words.caption(e, self.session.same_maps(e))
        lay.status.value = self.words.status(e, [fitted, flat])

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
        todo = likely_next(e.settings, e.predictions, self.panel.paths(),
                           method.uses_layer, method.forces_guided)
        shown_uncompiled = e.settings if e.source == "uncompiled pass" else None
        self.prefetcher.start(self.session.explainer, todo, compile_first=shown_uncompiled)

    def _failed(self, error: BaseException) -> None:
        """Say what failed and whether a control can fix it (`failures`); the controls,
        the layer menu and the colour bar keep what they show."""
        self.last_error = error
        failure = self.session.failure(error)
        self.error_text = failure.message
        self.layout.set_error(self.error_text)
        self.layout.status.value = html.escape(failure.status)
        self._words(None)
        self.refresh_controls()
        self.pictures.show_colour_bar()  # keeps its last picture (hidden if none yet)

    def _busy(self, busy: bool) -> None:
        self.layout.dim(("heatmap", "overlay"), busy)
        if busy:
            self.layout.status.value = \
                f"computing {html.escape(self.words.describe(self.viewer.settings))} …"

    def _shown_size(self) -> tuple[int, int] | None:
        image = self.session.shown_image
        return None if image is None else image.shape[:2]

    def _settle(self) -> None:
        """The map, then the teaching strips that follow it, up to date."""
        self.session.scheduler.flush()
        self.others.flush()
        self.teaching.flush()

    def flush(self) -> None:
        """Every pending change applied and drawn, the saved picture refreshed."""
        self.pictures.flush()


__all__ = ["Parts", "Wiring"]
