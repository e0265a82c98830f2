"""The rows of a results folder, read on demand: a pyarrow dataset with row access.

`Results` reads nothing when made but the file footers' row counts; every method reads
only the columns (and, with a filter, the row groups) it is asked for. Rows are numbered
in batch order across the files, which is the source's order.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.dataset as pads


class Results:
    """The rows written by explain_to_parquet; `.dataset` is the pyarrow dataset."""

    def __init__(self, dataset: pads.Dataset) -> None:
        self.dataset = dataset
        self._fragments = list(dataset.get_fragments())
        counts = [f.count_rows() for f in self._fragments]  # footers only
        self._starts = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)

    @property
    def schema(self) -> pa.Schema:
        return self.dataset.schema

    @property
    def column_names(self) -> list[str]:
        return self.dataset.schema.names

    @property
    def num_rows(self) -> int:
        return int(self._starts[-1])

    def __len__(self) -> int:
        return self.num_rows

    def __repr__(self) -> str:
        return f"<Results: {self.num_rows} rows in {len(self._fragments)} files; " \
               f"columns {', '.join(self.column_names)}>"

    def to_table(self, columns: Sequence[str] | None = None, filter: Any = None) -> pa.Table:
        """Those columns of the rows that pass `filter` (a pyarrow.compute expression)."""
        return self.dataset.to_table(columns=None if columns is None else list(columns),
                                     filter=filter)

    def column(self, name: str) -> pa.ChunkedArray:
        """One column of every row (only that column is read)."""
        return self.dataset.to_table(columns=[name]).column(name)

    def head(self, n: int, columns: Sequence[str] | None = None) -> pa.Table:
        return self.dataset.head(n, columns=None if columns is None else list(columns))

    def take(self, rows: Sequence[int] | np.ndarray, columns: Sequence[str] | None = None
             ) -> pa.Table:
        """The rows at these positions, in the order given (only their files are read)."""
        rows = np.asarray(rows, np.int64).reshape(-1)
        if len(rows) and (rows.min() < 0 or rows.max() >= self.num_rows):
            raise IndexError(f"rows must be in [0, {self.num_rows}); got "
                             f"{int(rows.min())}..{int(rows.max())}.")
        names = self.column_names if columns is None else list(columns)
        if not len(rows):
            return self.dataset.schema.empty_table().select(names)
        which = np.searchsorted(self._starts, rows, side="right") - 1
        parts, order = [], []
        for fragment in np.unique(which):
            picked = np.flatnonzero(which == fragment)
            local = rows[picked] - self._starts[fragment]
            parts.append(self._fragments[fragment].take(pa.array(local), columns=names))
            order.append(picked)
        table = pa.concat_tables(parts)
        return table.take(pa.array(np.argsort(np.concatenate(order), kind="stable")))


class MapReader:
    """One row's map at a time, decoded from its file; the last `keep` files' maps are
    kept, so paging reads each file once and memory stays flat."""

    def __init__(self, results: Results, keep: int = 16) -> None:
        from cam_widgets.audit.rows import map_size_of

        self.results, self.keep = results, keep
        self.size = map_size_of(results.schema)
        self._files: dict[int, np.ndarray] = {}

    def __len__(self) -> int:
        return self.results.num_rows

    def __getitem__(self, row: int) -> np.ndarray:
        results = self.results
        if not 0 <= int(row) < results.num_rows:
            raise IndexError(f"row {row} is not in [0, {results.num_rows}).")
        which = int(np.searchsorted(results._starts, row, side="right") - 1)
        maps = self._files.pop(which, None)
        if maps is None:
            column = results._fragments[which].to_table(columns=["map"]).column("map")
            flat = column.combine_chunks().values.to_numpy(zero_copy_only=False)
            maps = flat.reshape(len(column), *self.size)
            while len(self._files) >= self.keep:
                self._files.pop(next(iter(self._files)))  # the least recently used
        self._files[which] = maps  # most recent last
        return maps[int(row) - int(results._starts[which])].astype(np.float32)
