"""What every exported page shares: the data URI of a PNG and the light/dark style."""

from __future__ import annotations

import base64

CSS = """
:root { color-scheme: light dark; --bg: #ffffff; --fg: #1d1d1f; --muted: #5f6368;
  --line: #d0d4d9; --chip: #f1f3f4; --accent: #1a73e8; }
@media (prefers-color-scheme: dark) {
  :root { --bg: #111418; --fg: #e8eaed; --muted: #a0a6ad; --line: #3c4043;
    --chip: #23272c; --accent: #8ab4f8; }
}
body { background: var(--bg); color: var(--fg); margin: 1.5em;
  font: 15px/1.4 system-ui, -apple-system, "Segoe UI", sans-serif; }
h1 { font-size: 1.3em; margin: 0 0 .4em; }
.cw-muted { color: var(--muted); font-size: .9em; }
.cw-panels { display: flex; flex-wrap: wrap; gap: 10px; margin: .6em 0; }
.cw-panel { flex: 1 1 180px; max-width: 320px; }
.cw-panel img { width: 100%; display: block; }
.cw-stack { position: relative; }
.cw-stack img + img { position: absolute; left: 0; top: 0; }
.cw-pixelated img { image-rendering: pixelated; }
.cw-bar img { height: 12px; image-rendering: pixelated; }
.cw-bar-labels { display: flex; justify-content: space-between; font-size: .8em; }
.cw-controls { display: flex; flex-wrap: wrap; gap: .5em 1.2em; align-items: center; }
.cw-controls button, .cw-controls select { background: var(--chip); color: var(--fg);
  border: 1px solid var(--line); border-radius: 4px; padding: 3px 9px; font: inherit; }
.cw-controls button[aria-pressed="true"] { border-color: var(--accent);
  outline: 1px solid var(--accent); }
.cw-grid { display: grid; gap: 12px;
  grid-template-columns: repeat(auto-fill, minmax(var(--thumb, 128px), 1fr)); }
.cw-grid figure { margin: 0; }
.cw-grid figcaption { font-size: .8em; overflow-wrap: anywhere; }
.cw-right { color: #188038; } .cw-wrong { color: #d93025; }
@media (prefers-color-scheme: dark) { .cw-right { color: #81c995; }
  .cw-wrong { color: #f28b82; } }
"""


def data_uri(png: bytes) -> str:
    """`png` as a data: URI (the page needs no other file)."""
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def document(title: str, body: str, script: str = "", body_attributes: str = "") -> str:
    """A whole HTML5 page: `title` (already escaped), `body` markup, inline `script`."""
    tail = f"<script>\n{script}\n</script>\n" if script else ""
    return (f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f"<title>{title}</title>\n<style>{CSS}</style>\n</head>\n<body {body_attributes}>\n{body}\n"
            f"{tail}</body>\n</html>\n")
