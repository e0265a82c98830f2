"""The gallery's page: a static grid of thumbnails (image with its map over it) and their
captions, with an opacity slider and a "misclassified only" switch."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

from cam_widgets.export.style import data_uri, document


@dataclass(frozen=True)
class Thumbnail:
    """One cell: the image and its heatmap (PNGs of one size) and its caption lines;
    `correct` is None when the true class is unknown."""

    image_png: bytes
    heat_png: bytes
    captions: tuple[str, ...]
    correct: bool | None = None


_SCRIPT = """
var $ = function (id) { return document.getElementById(id); };
$('cw-opacity').addEventListener('input', function (e) {
  document.querySelectorAll('.cw-stack img + img').forEach(function (img) {
    img.style.opacity = e.target.value; });
  $('cw-opacity-value').textContent = Number(e.target.value).toFixed(2); });
$('cw-wrong-only').addEventListener('change', function (e) {
  document.querySelectorAll('.cw-grid figure').forEach(function (f) {
    f.hidden = e.target.checked && f.dataset.correct !== 'false'; }); });
"""


def _cell(thumb: Thumbnail, opacity: float) -> str:
    mark = {True: '<span class="cw-right">✓ right</span> ',
            False: '<span class="cw-wrong">✗ wrong</span> ', None: ""}[thumb.correct]
    lines = "".join(f"<div>{escape(line)}</div>" for line in thumb.captions)
    correct = "" if thumb.correct is None else str(thumb.correct).lower()
    return (f'<figure data-correct="{correct}"><div class="cw-stack">'
            f'<img alt="image" src="{data_uri(thumb.image_png)}">'
            f'<img alt="map" src="{data_uri(thumb.heat_png)}" style="opacity:{opacity:g}">'
            f"</div><figcaption>{mark}{lines}</figcaption></figure>")


def gallery_html(title: str, thumbnails: Sequence[Thumbnail], opacity: float = 0.5,
                 size: int = 128, note: str = "") -> str:
    """The whole page as one HTML string (every picture a data URI, no network)."""
    opacity = min(max(float(opacity), 0.0), 1.0)
    cells = "".join(_cell(t, opacity) for t in thumbnails) or (
        '<p class="cw-muted">No image matches the gallery\'s filters.</p>')
    body = f"""<h1>{escape(title)}</h1>
<div class="cw-muted">{escape(note)}</div>
<div class="cw-controls">
<label>opacity: <input type="range" id="cw-opacity" min="0" max="1" step="0.05" value="{opacity:g}">
<span id="cw-opacity-value">{opacity:.2f}</span></label>
<label><input type="checkbox" id="cw-wrong-only"> misclassified only</label>
</div>
<div class="cw-grid" style="--thumb:{int(size)}px">{cells}</div>
<p class="cw-muted">Made with cam_widgets; this file works offline.</p>"""
    return document(escape(title), body, _SCRIPT)
