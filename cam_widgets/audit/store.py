"""A folder of Parquet files, one per batch, each written atomically (temp name, rename).

A reader never sees a half-written file: files are written under a hidden name, which
pyarrow's dataset reader skips, and renamed when complete. A batch's file is named after
its first position and its ids, so a batch written again (a retried Ray task, a worker
that died after writing) replaces its file instead of adding a second copy. A killed run
therefore loses at most the batches in flight, and a rerun finds every id already written.
"""
from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.dataset as pads
import pyarrow.parquet as pq


def _data_files(folder: Path) -> list[str]:
    return sorted(str(p) for p in folder.glob("*.parquet") if not p.name.startswith((".", "_")))


def results_dataset(path: str | os.PathLike) -> pads.Dataset:
    """The rows written at `path` as a lazy pyarrow dataset (files in batch order)."""
    folder = Path(path)
    files = _data_files(folder) if folder.is_dir() else []
    if not files:
        raise FileNotFoundError(f"No explain_to_parquet results at {os.fspath(path)!r} "
                                "(expected a folder of .parquet files).")
    return pads.dataset(files, format="parquet")


def read_table(path: str | os.PathLike, columns: list[str] | None = None) -> pa.Table:
    """Every row written at `path` (a folder of Parquet files) as one table."""
    return results_dataset(path).to_table(columns=columns)


def written_ids(path: str | os.PathLike) -> set[Any]:
    """The ids already stored at `path` (empty when nothing is)."""
    folder = Path(path)
    if not folder.is_dir() or not _data_files(folder):
        return set()
    return set(read_table(folder, columns=["id"]).column("id").to_pylist())


def batch_name(first_position: int, ids: Sequence[Any]) -> str:
    """The file name of a batch: its first position (files sort in source order) and a
    digest of its ids (the same batch always gets the same name)."""
    digest = hashlib.blake2b(repr(list(ids)).encode(), digest_size=8).hexdigest()
    return f"part-{int(first_position):010d}-{digest}.parquet"


def write_batch(path: str | os.PathLike, table: pa.Table, name: str | None = None) -> str:
    """Write `table` as the file `name` under `path`: hidden temp name first, then rename.

    The temporary name is unique per attempt, so two attempts at one batch never write
    into the same file; the rename replaces an earlier attempt's file of the same name.
    """
    folder = Path(path)
    folder.mkdir(parents=True, exist_ok=True)
    name = name or f"part-{uuid.uuid4().hex}.parquet"
    temporary = folder / f".{name[:-len('.parquet')]}.{uuid.uuid4().hex[:8]}.parquet.tmp"
    try:
        pq.write_table(table, temporary)
        os.replace(temporary, folder / name)
    finally:
        if temporary.exists():
            temporary.unlink()
    return str(folder / name)


def remove_stale_temporaries(path: str | os.PathLike) -> None:
    """Delete temp files a killed run left behind (they never hold counted rows)."""
    folder = Path(path)
    if folder.is_dir():
        for stale in folder.glob(".*.parquet.tmp"):
            stale.unlink(missing_ok=True)
