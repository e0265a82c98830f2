"""The comparison grid as pure arrays and words: each cell's coloured map, overlay,
caption and colour bar, which value in each column of numbers is the best, and the whole
captioned grid (`CamCompare.snapshot()`). Built on the viewer's `compose`: numpy and
Pillow only."""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from cam_widgets.compare.cells import CellMap, CellNumbers
from cam_widgets.viewer import compose
from cam_widgets.viewer.map_notes import FLAT_SPAN, SAME_MAP_TOLERANCE

#: the numbers' columns: (key, label, whether higher is better)
COLUMNS = (("deletion", "del", False), ("insertion", "ins", True), ("pointing", "pt", True))
BEST = "*"  # marks the best value of a column in a caption
GAP = 6  # pixels between cells in the grid picture


def colours(cell: CellMap, colormap: str, scale: str) -> compose.ColourScale:
    """The cell's colour scale: its own range ("map") or the kernel's [0, 1] ("shared");
    a signed map (zero at 0.5) is drawn centred on zero in [-1, 1]."""
    values = signed_values(cell)
    return compose.colour_scale(values, cell.signed, colormap, scale, peak=1.0)


def signed_values(cell: CellMap) -> np.ndarray:
    """The values the colours are read from: [-1, 1] for a signed map, else [0, 1]."""
    return cell.values * 2.0 - 1.0 if cell.signed else cell.values


def caption_lines(method: str, error: str | None, mapped: bool,
                  numbers: CellNumbers | None, marks: Mapping[str, set[str]],
                  same_as: str | None = None) -> list[str]:
    """A cell's caption: its method (and the earlier method whose map is the same
    picture), then its error, "computing..." before its map arrives, or its numbers (a
    star on a column's best)."""
    if error is not None:
        return [method, error]
    if not mapped:
        return [method, "computing...", ""]
    title = method if same_as is None else f"{method} · same map as {same_as}"
    return [title, *number_lines(method, numbers, marks)]


def same_as(method: str, maps: Mapping[str, CellMap], order: Sequence[str]) -> str | None:
    """The first method before `method` in `order` whose map is the same picture (no
    pixel apart by more than `SAME_MAP_TOLERANCE`; maps of one value everywhere are
    left out): HiResCAM, XGrad-CAM and Grad-CAM agree on a model whose last feature map
    is averaged."""
    mine = maps.get(method)
    if mine is None or np.ptp(mine.values) < FLAT_SPAN:
        return None
    for other in order[:order.index(method)]:
        theirs = maps.get(other)
        if (theirs is not None and theirs.signed == mine.signed
                and theirs.values.shape == mine.values.shape
                and np.ptp(theirs.values) >= FLAT_SPAN
                and float(np.abs(theirs.values - mine.values).max()) <= SAME_MAP_TOLERANCE):
            return other
    return None


def header_lines(class_name: str, predicted: bool, pointing: bool) -> list[str]:
    """The grid's header: the class explained (predicted or chosen) and the numbers' key."""
    chosen = "predicted" if predicted else "chosen"
    game = ", pt: pointing game" if pointing else ""
    return [f"class {class_name} ({chosen}); {BEST} the best of a column",
            "del: deletion AUC (lower is better)",
            f"ins: insertion AUC (higher is better){game}"]


def best(numbers: Mapping[str, CellNumbers]) -> dict[str, set[str]]:
    """For each column, the methods holding its best value (ties all marked; a column
    with fewer than two values, or all of them equal, marks none)."""
    marks: dict[str, set[str]] = {}
    for key, _, higher in COLUMNS:
        values = {m: getattr(n, key) for m, n in numbers.items() if getattr(n, key) is not None}
        if len(values) < 2 or len(set(values.values())) == 1:
            marks[key] = set()
            continue
        top = (max if higher else min)(values.values())
        marks[key] = {m for m, v in values.items() if v == top}
    return marks


def number_lines(method: str, numbers: CellNumbers | None,
                 marks: Mapping[str, set[str]]) -> list[str]:
    """['del 0.120*', 'ins 0.800 pt hit'] for a cell (the best in a column followed by
    `BEST`); 'del ...' before the numbers arrive."""
    if numbers is None:
        return ["del ...", "ins ..."]
    parts = []
    for key, label, _ in COLUMNS:
        value = getattr(numbers, key)
        if value is None:
            continue
        text = ("hit" if value else "miss") if isinstance(value, bool) else f"{value:.3f}"
        parts.append(f"{label} {text}{BEST if method in marks.get(key, ()) else ''}")
    return [parts[0], " ".join(parts[1:])]


def cell_figure(image: np.ndarray, cell: CellMap | None, lines: list[str], colormap: str,
                scale: str, opacity: float, min_height: int = 160) -> np.ndarray:
    """One captioned cell: caption lines, the overlay (enlarged to at least `min_height`),
    its colour bar; the bare image while the map is not there yet."""
    height, width = image.shape[:2]
    factor = max(1, -(-min_height // height))
    if cell is None:
        panel, bar = image, None
    else:
        scale_of_cell = colours(cell, colormap, scale)
        panel = compose.blend_overlay(image, compose.heatmap(signed_values(cell),
                                                             scale_of_cell), opacity)
        bar = compose.colour_bar(scale_of_cell, width * factor)
    parts = [compose.text_block(lines, width * factor, font_size=12),
             compose.enlarge(panel, factor)]
    parts.append(bar if bar is not None else
                 np.full((compose.BAR_HEIGHT + 15, width * factor, 4), 255, np.uint8))
    return np.concatenate(parts, axis=0)


def grid(cells: Sequence[np.ndarray], columns: int, header: list[str]) -> np.ndarray:
    """Cells (RGBA, any heights, same width) tiled in rows of `columns`, under a header."""
    width = max(c.shape[1] for c in cells)
    rows = []
    for start in range(0, len(cells), columns):
        row = list(cells[start:start + columns])
        tall = max(c.shape[0] for c in row)
        padded = [np.pad(c, ((0, tall - c.shape[0]), (0, width - c.shape[1] + GAP), (0, 0)),
                         constant_values=255) for c in row]
        while len(padded) < columns:
            padded.append(np.full((tall, width + GAP, 4), 255, np.uint8))
        rows.append(np.concatenate(padded, axis=1))
        rows.append(np.full((GAP, rows[-1].shape[1], 4), 255, np.uint8))
    body = np.concatenate(rows, axis=0)
    return np.concatenate([compose.text_block(header, body.shape[1]), body], axis=0)
