"""The viewer's page: the image, a map per (class, layer) with its captions and colour
bar, and a few lines of inline JavaScript that switch class, layer and opacity."""

from __future__ import annotations

from dataclasses import dataclass
from html import escape

from cam_widgets.export.style import data_uri, document


@dataclass(frozen=True)
class MapView:
    """One map of the page: `heat_png` (the heatmap at the image's display size),
    `bar_png` (the colour bar's ramp) with its `bar_labels` (low, middle, high), and its
    caption lines. `layer` is None for methods that use no layer."""

    class_index: int
    class_label: str  # the class button's text, e.g. "tabby · score 9.1"
    layer: str | None
    heat_png: bytes
    bar_png: bytes
    bar_labels: tuple[str, str, str]
    captions: tuple[str, ...]


@dataclass(frozen=True)
class ViewerPage:
    """What `viewer_html` writes: the title, the image as shown (PNG) and the maps."""

    title: str
    image_png: bytes
    views: tuple[MapView, ...]
    opacity: float = 0.5
    pixelated: bool = False  # a small image: show its pixels, not a blur
    note: str = ""  # one line under the title (e.g. the method and model)
    first: int = 0  # the view shown when the page opens


_SCRIPT = """
var views = Array.prototype.slice.call(document.querySelectorAll('.cw-view'));
var start = views[Number(document.body.dataset.first)] || views[0];
var pick = {cls: start.dataset.cls, layer: start.dataset.layer};
var $ = function (id) { return document.getElementById(id); };
function show() {
  var view = views.filter(function (v) {
    return v.dataset.cls === pick.cls && v.dataset.layer === pick.layer; })[0];
  if (!view) { return; }
  var heat = view.querySelector('.cw-map').src;
  $('cw-heat').src = heat; $('cw-overlay-heat').src = heat;
  $('cw-bar').src = view.querySelector('.cw-ramp').src;
  $('cw-bar-labels').innerHTML = view.querySelector('.cw-labels').innerHTML;
  $('cw-captions').innerHTML = view.querySelector('.cw-lines').innerHTML;
  document.querySelectorAll('.cw-class').forEach(function (b) {
    b.setAttribute('aria-pressed', String(b.dataset.cls === pick.cls)); });
}
document.querySelectorAll('.cw-class').forEach(function (b) {
  b.addEventListener('click', function () { pick.cls = b.dataset.cls; show(); }); });
$('cw-layer').addEventListener('change', function (e) { pick.layer = e.target.value; show(); });
$('cw-opacity').addEventListener('input', function (e) {
  $('cw-overlay-heat').style.opacity = e.target.value;
  $('cw-opacity-value').textContent = Number(e.target.value).toFixed(2); });
show();
"""


def _lines(lines: tuple[str, ...] | list[str]) -> str:
    return "".join(f"<div>{escape(line)}</div>" for line in lines)


def _view(view: MapView) -> str:
    labels = "".join(f"<span>{escape(text)}</span>" for text in view.bar_labels)
    return (f'<div class="cw-view" hidden data-cls="{view.class_index}" '
            f'data-layer="{escape(view.layer or "")}">'
            f'<img class="cw-map" alt="" src="{data_uri(view.heat_png)}">'
            f'<img class="cw-ramp" alt="" src="{data_uri(view.bar_png)}">'
            f'<div class="cw-labels">{labels}</div>'
            f'<div class="cw-lines">{_lines(view.captions)}</div></div>')


def viewer_html(page: ViewerPage) -> str:
    """The whole page as one HTML string (every picture a data URI, no network)."""
    if not page.views:
        raise ValueError("a viewer page needs at least one map (views is empty)")
    classes = list(dict.fromkeys((v.class_index, v.class_label) for v in page.views))
    layers = list(dict.fromkeys(v.layer or "" for v in page.views))
    if not 0 <= page.first < len(page.views):
        raise ValueError(f"first must index the views (0 to {len(page.views) - 1}), "
                         f"got {page.first}")
    first = page.views[page.first]
    buttons = "".join(
        f'<button type="button" class="cw-class" data-cls="{index}">{escape(label)}</button>'
        for index, label in classes)
    options = "".join(
        f'<option value="{escape(layer)}"{" selected" if layer == (first.layer or "") else ""}>'
        f'{escape(layer or "(no layer)")}</option>' for layer in layers)
    image = data_uri(page.image_png)
    opacity = min(max(float(page.opacity), 0.0), 1.0)
    pixelated = " cw-pixelated" if page.pixelated else ""
    body = f"""<h1>{escape(page.title)}</h1>
<div class="cw-muted">{escape(page.note)}</div>
<div id="cw-captions"></div>
<div class="cw-panels{pixelated}">
<div class="cw-panel"><img id="cw-image" alt="image" src="{image}"><div class="cw-muted">image</div></div>
<div class="cw-panel"><img id="cw-heat" alt="heatmap" src="">
<div class="cw-bar"><img id="cw-bar" alt="colour bar" src="" style="width:100%">
<div id="cw-bar-labels" class="cw-bar-labels"></div></div><div class="cw-muted">heatmap</div></div>
<div class="cw-panel"><div class="cw-stack"><img alt="overlay" src="{image}">
<img id="cw-overlay-heat" alt="" src="" style="opacity:{opacity:g}"></div>
<div class="cw-muted">overlay</div></div>
</div>
<div class="cw-controls">
<span>class: {buttons}</span>
<label>layer: <select id="cw-layer">{options}</select></label>
<label>opacity: <input type="range" id="cw-opacity" min="0" max="1" step="0.05" value="{opacity:g}">
<span id="cw-opacity-value">{opacity:.2f}</span></label>
</div>
{"".join(_view(v) for v in page.views)}
<p class="cw-muted">Made with cam_widgets; this file works offline.</p>"""
    return document(escape(page.title), body, _SCRIPT, f'data-first="{page.first}"')
