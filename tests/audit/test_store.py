"""The results folder: batch files named by batch, rewrites replace, lazy reads."""
from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from cam_widgets.audit.results import MapReader, Results
from cam_widgets.audit.rows import schema
from cam_widgets.audit.store import batch_name, results_dataset, write_batch


def rows(ids: list[int], fill: float) -> pa.Table:
    table_schema = schema(pa.int64(), (2, 2))
    count = len(ids)
    maps = np.full((count, 4), fill, np.float16)
    maps[:, 0] = np.asarray(ids, np.float16) / 100  # each row's map names its id
    columns = {"id": ids, "score": np.arange(count, dtype=np.float32) + fill,
               "map": pa.FixedSizeListArray.from_arrays(pa.array(maps.reshape(-1)), 4)}
    return pa.Table.from_arrays(
        [columns[f.name] if isinstance(columns.get(f.name), pa.Array)
         else pa.array(columns[f.name], f.type) if f.name in columns
         else pa.nulls(count, f.type) for f in table_schema], schema=table_schema)


def test_a_batch_written_twice_replaces_its_file(tmp_path):
    name = batch_name(4, [4, 5, 6])
    assert name == batch_name(4, [4, 5, 6]) == "part-0000000004-" + name[16:]
    assert name != batch_name(4, [4, 5, 7])  # other ids, other file
    write_batch(tmp_path, rows([4, 5, 6], 0.25), name)
    write_batch(tmp_path, rows([4, 5, 6], 0.25), name)  # a retried batch
    assert [p.name for p in tmp_path.iterdir()] == [name]
    assert results_dataset(tmp_path).count_rows() == 3


def test_results_read_columns_and_rows_on_demand(tmp_path):
    for start in (0, 3, 6):  # written out of order: the names keep the source order
        ids = [start, start + 1, start + 2]
        write_batch(tmp_path, rows(ids, 0.5), batch_name(start, ids))
    results = Results(results_dataset(tmp_path))
    assert (results.num_rows, len(results)) == (9, 9)
    assert results.column("id").to_pylist() == list(range(9))
    assert results.take([7, 0, 4], columns=["id"]).column("id").to_pylist() == [7, 0, 4]
    import pyarrow.compute as pc

    kept = results.to_table(columns=["id"], filter=pc.field("score") > 2.0)
    assert kept.column("id").to_pylist() == [2, 5, 8]  # score = position in batch + 0.5
    maps = MapReader(results, keep=2)
    assert maps[7].shape == (2, 2) and maps[7][0, 0] == pytest.approx(0.07, abs=1e-3)
    assert [maps[r][0, 0] for r in (0, 4, 8)] == pytest.approx([0, 0.04, 0.08], abs=1e-3)
    assert len(maps._files) == 2  # only the last two files' maps are kept
    with pytest.raises(IndexError, match=r"rows must be in \[0, 9\)"):
        results.take([9])
