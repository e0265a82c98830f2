"""One Parquet row per explained image: the schema and the conversion from a result."""
from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa

from cam_widgets import metrics
from cam_widgets.kernel.targets import top_classes
from cam_widgets.render import resize

#: Columns every row has; the metric columns are null when no boxes or masks were given.
COLUMNS = ("id", "label", "target", "score", "predicted", "probability", "layer", "method",
           "map", "pointing_game", "energy_in_box")


def schema(id_type: pa.DataType, map_size: tuple[int, int]) -> pa.Schema:
    """The table's schema; `map_size` is kept in its metadata (maps are stored flat)."""
    height, width = map_size
    return pa.schema(
        [
            pa.field("id", id_type, nullable=False),
            pa.field("label", pa.int64()),  # the true class when known, else null
            pa.field("target", pa.int64()),  # the class explained (-1: callable target)
            pa.field("score", pa.float32()),  # the differentiated score
            pa.field("predicted", pa.int64()),  # the class target=None explains
            pa.field("probability", pa.float32()),  # its probability (sigmoid: p or 1 - p)
            pa.field("layer", pa.string()),
            pa.field("method", pa.string()),
            pa.field("map", pa.list_(pa.float16(), height * width)),  # row-major, in [0, 1]
            pa.field("pointing_game", pa.bool_()),
            pa.field("energy_in_box", pa.float32()),
        ],
        metadata={"cam_widgets.map_size": f"{height},{width}"},
    )


def map_size_of(table_schema: pa.Schema) -> tuple[int, int]:
    """(height, width) of the stored maps, read back from the schema's metadata."""
    raw = (table_schema.metadata or {}).get(b"cam_widgets.map_size")
    if raw is None:
        raise ValueError("This Parquet data was not written by explain_to_parquet "
                         "(no cam_widgets.map_size in its schema metadata).")
    height, width = (int(v) for v in raw.decode().split(","))
    return height, width


def to_table(
    ids: list[Any], result: Any, table_schema: pa.Schema, *, labels: np.ndarray | None,
    boxes: np.ndarray | None, masks: np.ndarray | None, binary: bool = False,
) -> pa.Table:
    """Rows for one explained batch (`result` is an ExplainResult of these images);
    `binary`: the model is a binary sigmoid head (`kernel.targets.sigmoid_head`)."""
    count = len(ids)
    height, width = map_size_of(table_schema)
    full = np.asarray(result.maps, np.float32)
    small = np.stack([resize(m, (height, width)) for m in full]) if count else \
        np.zeros((0, height, width), np.float32)
    small = np.clip(small, 0.0, 1.0).astype(np.float16).reshape(count, -1)
    if result.predictions is not None:
        predicted, probability = top_classes(result.predictions, binary)
    else:
        predicted = probability = None
    hits = energy = None
    if masks is not None:
        hits = metrics.pointing_game_in_mask(full, masks)
        energy = metrics.energy_in_mask(full, masks)
    elif boxes is not None:
        hits, energy = metrics.pointing_game(full, boxes), metrics.energy_in_box(full, boxes)
    columns = {
        "id": ids,
        "label": None if labels is None else labels.astype(np.int64),
        "target": result.targets.astype(np.int64),
        "score": result.scores.astype(np.float32),
        "predicted": predicted,
        "probability": probability,
        "layer": [result.layer] * count,
        "method": [result.method] * count,
        "map": pa.FixedSizeListArray.from_arrays(pa.array(small.reshape(-1)), height * width),
        "pointing_game": hits,
        "energy_in_box": None if energy is None else energy.astype(np.float32),
    }
    arrays = [columns[f.name] if isinstance(columns[f.name], pa.Array)
              else pa.nulls(count, f.type) if columns[f.name] is None
              else pa.array(columns[f.name], f.type)
              for f in table_schema]
    return pa.Table.from_arrays(arrays, schema=table_schema)


def maps_of(table: pa.Table) -> np.ndarray:
    """float32 (N, h, w) maps of a table read back from Parquet."""
    height, width = map_size_of(table.schema)
    column = table.column("map").combine_chunks()
    flat = column.values.to_numpy(zero_copy_only=False) if len(column) else np.zeros(0, np.float16)
    return flat.astype(np.float32).reshape(len(column), height, width)
