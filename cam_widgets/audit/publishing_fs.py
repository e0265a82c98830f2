"""A local pyarrow filesystem whose new files appear only when complete.

Ray Data writes Parquet through a pyarrow filesystem. This one writes each file under
a hidden temporary name and renames it into place on close, after checking that the
file ends with a readable Parquet footer. A worker killed mid-write leaves only a hidden
temporary (never read, removed by the next run); a write that fails is discarded.
"""
from __future__ import annotations

import io
import os

import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq


def temporary_name(path: str) -> str:
    """A hidden name next to `path`, unique to this process (`.name-pid.parquet.tmp`)."""
    folder, name = os.path.split(path)
    return os.path.join(folder, f".{name}-{os.getpid()}.parquet.tmp")


class _PublishOnClose(io.FileIO):
    """A file written under a temporary name and renamed to `final` if it is whole."""

    def __init__(self, final: str) -> None:
        self.final = final
        self.temporary = temporary_name(final)
        super().__init__(self.temporary, "wb")

    def close(self) -> None:
        if self.closed:
            return
        super().close()
        try:
            if self.final.endswith(".parquet"):
                pq.read_metadata(self.temporary)  # raises on a truncated file
            os.replace(self.temporary, self.final)
        finally:
            if os.path.exists(self.temporary):
                os.unlink(self.temporary)


class PublishingHandler(pafs.FileSystemHandler):
    """Local files; output streams publish atomically (see the module docstring)."""

    def __init__(self) -> None:
        self._local = pafs.LocalFileSystem()

    def __eq__(self, other: object) -> bool:
        return isinstance(other, PublishingHandler)

    def __ne__(self, other: object) -> bool:
        return not self == other

    def __reduce__(self):  # shipped to Ray workers
        return (PublishingHandler, ())

    def get_type_name(self) -> str:
        return "cam_widgets-publishing-local"

    def normalize_path(self, path: str) -> str:
        return self._local.normalize_path(path)

    def equals(self, other: object) -> bool:
        return self == other

    def get_file_info(self, paths):
        return self._local.get_file_info(paths)

    def get_file_info_selector(self, selector):
        return self._local.get_file_info(selector)

    def create_dir(self, path: str, recursive: bool) -> None:
        self._local.create_dir(path, recursive=recursive)

    def delete_dir(self, path: str) -> None:
        self._local.delete_dir(path)

    def delete_dir_contents(self, path: str, missing_dir_ok: bool = False) -> None:
        self._local.delete_dir_contents(path, missing_dir_ok=missing_dir_ok)

    def delete_root_dir_contents(self) -> None:
        raise OSError("refusing to delete the contents of the root directory")

    def delete_file(self, path: str) -> None:
        self._local.delete_file(path)

    def move(self, src: str, dest: str) -> None:
        self._local.move(src, dest)

    def copy_file(self, src: str, dest: str) -> None:
        self._local.copy_file(src, dest)

    def open_input_stream(self, path: str):
        return self._local.open_input_stream(path)

    def open_input_file(self, path: str):
        return self._local.open_input_file(path)

    def open_output_stream(self, path: str, metadata=None):
        return pa.PythonFile(_PublishOnClose(path), mode="w")

    def open_append_stream(self, path: str, metadata=None):
        raise OSError("append is not supported: results files are written whole")


def publishing_filesystem() -> pafs.PyFileSystem:
    return pafs.PyFileSystem(PublishingHandler())
