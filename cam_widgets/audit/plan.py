"""The validated request of one explain_to_parquet call (what every engine runs)."""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa

from cam_widgets.audit.sources import ArraySource, DatasetSource, FileSource


@dataclass(frozen=True)
class Plan:
    """Source, output folder, method and its arguments, and per-image side data."""

    source: FileSource | ArraySource | DatasetSource
    path: str
    method: str
    target: Any  # None, an int or a callable; "label" is `target_is_label`
    target_is_label: bool
    schema: pa.Schema
    batch_size: int
    explain_kwargs: dict[str, Any] = field(default_factory=dict)
    labels: np.ndarray | None = None
    boxes: np.ndarray | None = None
    masks: np.ndarray | None = None

    def pending_positions(self, done: set[Any]) -> list[int]:
        """Positions (in source order) of the images not written yet."""
        return [p for p, image_id in enumerate(self.source.ids) if image_id not in done]

    def pending_count(self, done: set[Any]) -> int | None:
        if isinstance(self.source, DatasetSource):
            return None
        return len(self.pending_positions(done))

    def _at(self, values: np.ndarray | None, positions: np.ndarray, name: str) -> np.ndarray | None:
        if values is None:
            return None
        if len(positions) and positions.max() >= len(values):
            raise ValueError(f"{name} has {len(values)} entries but the images go on to "
                             f"index {int(positions.max())}: give one per image.")
        return values[positions]

    def labels_at(self, positions: np.ndarray) -> np.ndarray | None:
        return self._at(self.labels, positions, "labels")

    def boxes_at(self, positions: np.ndarray) -> np.ndarray | None:
        return self._at(self.boxes, positions, "boxes")

    def masks_at(self, positions: np.ndarray) -> np.ndarray | None:
        return self._at(self.masks, positions, "masks")


def output_folder(path: str | os.PathLike) -> str:
    """The results folder; an existing plain file there is an error."""
    path = os.fspath(path)
    if os.path.exists(path) and not os.path.isdir(path):
        raise ValueError(f"path {path!r} is a file; explain_to_parquet writes a folder of "
                         "Parquet files there. Pass a folder (new or from an earlier run).")
    return path
