"""The page the viewer shows: header lines, the three panels with the colour bar, the
error line, the two control groups and the download link. Responsive: panels shrink with
CSS (their pixels stay exact), control groups wrap. Text colours come from the Jupyter
theme's variables, so dark themes keep their contrast."""

from __future__ import annotations

import base64
import html
from typing import Any

import ipywidgets as widgets
from IPython.display import display, update_display

from cam_widgets.export.style import data_uri
from cam_widgets.viewer.transport import PANELS, CanvasTransport

PANEL_PX = 256  # the largest CSS width of one panel
_BUSY, _PIXELATED = "cam-widgets-busy", "cam-widgets-pixelated"
FADED = _BUSY  # a picture kept while it no longer matches the view (the colour bar after an error)
_CSS = f"""<style>
.cam-widgets-view {{ max-width: 100%; box-sizing: border-box; overflow: hidden; }}
.cam-widgets-panel canvas, .cam-widgets-panel img {{ width: 100% !important;
  height: auto !important; max-width: 100%; }}
.cam-widgets-panel > .jupyter-widgets {{ margin-left: 0; margin-right: 0; }}
.{_PIXELATED} canvas {{ image-rendering: pixelated; }}
.{_BUSY} {{ opacity: 0.3; transition: opacity 0.15s; }}
.cam-widgets-view .widget-html-content {{ white-space: normal; overflow-wrap: anywhere;
  color: var(--jp-content-font-color1, inherit); }}
.cam-widgets-view .cam-widgets-panel-caption, .cam-widgets-panel-caption .widget-html-content {{
  height: 20px; line-height: 20px; margin: 0; white-space: nowrap; overflow: hidden;
  text-overflow: ellipsis; }}
.cam-widgets-map-caption .widget-html-content {{ line-height: 1.35; min-height: 2.7em;
  height: auto; display: flex; align-items: flex-end; }}
.cam-widgets-bar-labels .widget-html-content {{ display: flex;
  justify-content: space-between; font-size: 11px; line-height: 14px; }}
.cam-widgets-error {{ color: var(--jp-error-color1, #b00020); white-space: pre-wrap; }}
.cam-widgets-view .widget-label, .cam-widgets-view select {{
  color: var(--jp-widgets-color, inherit); }}
</style>"""


def _row(children: list[widgets.Widget], **layout: str) -> widgets.Box:
    return widgets.Box(children, layout=widgets.Layout(**layout))


class CamView(widgets.VBox):
    """The widget `show()` returns. Displayed with a display id, so the saved notebook's
    picture (the PNG beside the widget) can be replaced by the current view."""

    def __init__(self, png: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._png = png  # () -> bytes | None, the current figure
        self._display_id: str | None = None

    def _repr_mimebundle_(self, png: bytes | None = None, **kwargs: Any) -> dict[str, Any] | None:
        """The widget's bundle with the current figure as PNG (`png`, if already made)."""
        data = super()._repr_mimebundle_(**kwargs)
        if data is None:
            return None
        png = self._png() if png is None else png
        if png is not None:
            data["image/png"] = base64.b64encode(png).decode("ascii")
        return data

    def _ipython_display_(self) -> None:
        if self._display_id is None:
            self._display_id = f"cam-widgets-{self.model_id}"
        display(self._repr_mimebundle_(), raw=True, display_id=self._display_id)

    def update_saved_picture(self, png: bytes | None = None) -> None:
        """Send the current mimebundle (with `png`, the current figure, if already made) to
        the output showing this widget (if any), so a saved notebook, nbconvert or GitHub
        shows the view as it is now."""
        if self._display_id is not None:
            update_display(self._repr_mimebundle_(png), raw=True, display_id=self._display_id)


class Layout:
    """Builds the page and updates its words; knows nothing about maps."""

    def __init__(self, transport: CanvasTransport, controls: widgets.Box, png: Any) -> None:
        self.class_label = widgets.HTML()
        self.caption = widgets.HTML()  # two lines kept for it: a longer one moves nothing
        self.caption.add_class("cam-widgets-map-caption")
        self.status = widgets.HTML()
        self.error_box = widgets.HTML(layout=widgets.Layout(display="none"))
        self.colour_bar = widgets.Image(format="png", layout=widgets.Layout(width="100%"))
        self.download = widgets.HTML()
        self.save_html = widgets.Box()  # the "Save HTML" button (`html_export`), beside it
        self.boxes: dict[str, widgets.Box] = {}
        self.panel_px = PANEL_PX
        self.bar_labels = widgets.HTML()
        self.bar_labels.add_class("cam-widgets-bar-labels")
        for name, canvas in transport.canvases.items():
            label = widgets.HTML(f"<small>{name}</small>")  # one line each, so they align
            label.add_class("cam-widgets-panel-caption")
            parts: list[widgets.Widget] = [canvas, label]
            if name == "heatmap":
                parts += [self.colour_bar, self.bar_labels]
            self.boxes[name] = widgets.VBox(parts, layout=widgets.Layout(
                flex="1 1 0px", min_width="0", max_width=f"{PANEL_PX}px", margin="0 4px 0 0"))
            self.boxes[name].add_class("cam-widgets-panel")
        panels = _row([self.boxes[p] for p in PANELS], width="100%", flex_flow="row nowrap")
        self.widget = CamView(png, children=[
            widgets.HTML(_CSS), self.class_label, self.caption, panels,
            self.status, self.error_box, controls,
            _row([self.download, self.save_html], align_items="center"),
        ])
        self.widget.add_class("cam-widgets-view")

    def fit(self, height: int, width: int) -> None:
        """Largest CSS width per panel: whole CSS pixels per image pixel for small images
        (pixelated), at most PANEL_PX; the page may shrink them further."""
        scale = PANEL_PX / max(height, width)
        scale = float(int(scale)) if scale >= 1 else scale
        self.panel_px = round(width * scale)
        for box in self.boxes.values():
            box.layout.max_width = f"{self.panel_px}px"
            if scale >= 1:
                box.add_class(_PIXELATED)
            else:
                box.remove_class(_PIXELATED)

    def dim(self, names: tuple[str, ...], busy: bool) -> None:
        for name in names:
            if busy:
                self.boxes[name].add_class(_BUSY)
            else:
                self.boxes[name].remove_class(_BUSY)

    def set_bar_labels(self, labels: list[str]) -> None:
        """The colour bar's values (low, middle, high) as text under it, in the theme's
        colours (none: empty)."""
        self.bar_labels.value = "".join(f"<span>{html.escape(text)}</span>" for text in labels)

    def set_error(self, message: str) -> None:
        self.error_box.value = (
            f'<div class="cam-widgets-error">Error: {html.escape(message)}</div>' if message else ""
        )
        self.error_box.layout.display = None if message else "none"

    def set_download(self, png: bytes | None, name: str, png_2x: bytes | None = None) -> None:
        """The Download PNG link (as shown) and, given `png_2x`, its "2x" companion (for a
        slide), saved as `name` and `name` with `@2x` before the extension."""
        if png is None:
            self.download.value = ""
            return
        links = [(png, name, "Download PNG", "")]
        if png_2x is not None:
            links.append((png_2x, name.replace(".png", "@2x.png"), "2x",
                          ' title="the same picture twice as large"'))
        self.download.value = "".join(
            f'<a download="{html.escape(file)}" href="{data_uri(data)}"{extra} '
            f'class="jupyter-button" '
            f'style="text-decoration:none;padding:2px 10px;margin-right:4px">{label}</a>'
            for data, file, label, extra in links)
