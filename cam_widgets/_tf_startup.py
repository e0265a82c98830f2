"""Import TensorFlow without the notices its C++ start-up writes to stderr.

On import, TensorFlow's shared libraries log a few lines through absl before absl's
logging is initialised, so ``TF_CPP_MIN_LOG_LEVEL`` cannot hide them (it only filters
TensorFlow's own logging, which starts later): the "All log messages before
absl::InitializeLog()" banner, the oneDNN notice, "Could not find cuda drivers" on a
machine without a GPU, and, on CUDA builds, duplicate cuDNN/cuFFT/cuBLAS factory
registrations. In Jupyter they fill the first cell with a red stderr box. The banner and
the CUDA line come twice: `tensorflow._pywrap_cpu_feature_guard` and, later in the same
import, `tensorflow.python.profiler.internal._pywrap_profiler_plugin` (loaded by the
`tf.compat.v2.profiler` API) each carry their own copy of absl.

The first device query ("failed call to cuInit" on a machine without a GPU) is made
inside the filter too, right after the import. `import cam_widgets` installs
`QuietFirstImport`, so TensorFlow loads filtered whoever imports it next (Keras, the
user); when it was loaded before cam_widgets its notices are already written, and only
the cuInit line (which comes with the first device query) can still be kept away.

While TensorFlow loads, file descriptor 2 is a pipe read by a thread that drops exactly
those lines and passes every other byte on to the real stderr as it arrives (so a crash
message during the import is still seen). Nothing is done when TensorFlow is already
loaded, and if the descriptor cannot be redirected the import runs as usual.
"""
from __future__ import annotations

import importlib.abc
import importlib.machinery
import json
import os
import re
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import ModuleType

STARTUP_NOTICES = re.compile(
    r"All log messages before absl::InitializeLog\(\) is called are written to STDERR"
    r"|port\.cc:\d+\] oneDNN custom operations are on"
    r"|cudart_stub\.cc:\d+\] Could not find cuda drivers on your machine"
    r"|cpu_feature_guard\.cc:\d+\] This TensorFlow binary is optimized"
    r"|^To enable the following instructions: .* rebuild TensorFlow"
    r"|\] Unable to register cu(DNN|FFT|BLAS) factory: Attempting to register factory"
    r"|computation_placer\.cc:\d+\] computation placer already registered"
    r"|cuda_platform\.cc:\d+\] failed call to cuInit"
)
"""Lines TensorFlow prints on import that say nothing about the user's code."""

_ONE_AT_A_TIME = threading.RLock()  # two threads must not swap descriptor 2 in turn


def _forward(read_fd: int, write_fd: int, drop: re.Pattern) -> None:
    """Copy lines from `read_fd` to `write_fd` until end of file, dropping matches."""
    pending = b""
    with os.fdopen(read_fd, "rb", buffering=0) as pipe:
        while chunk := pipe.read(65536):
            *lines, pending = (pending + chunk).split(b"\n")
            kept = [line + b"\n" for line in lines
                    if not drop.search(line.decode("utf-8", "replace"))]
            if kept:
                os.write(write_fd, b"".join(kept))
    if pending and not drop.search(pending.decode("utf-8", "replace")):
        os.write(write_fd, pending)


@contextmanager
def stderr_without(drop: re.Pattern) -> Iterator[None]:
    """Within the block, lines written to file descriptor 2 that match `drop` vanish."""
    try:
        sys.stderr.flush()
        saved = os.dup(2)
        read_fd, write_fd = os.pipe()
    except (OSError, ValueError, AttributeError):  # no descriptor 2 (e.g. pythonw)
        yield
        return
    reader = threading.Thread(target=_forward, args=(read_fd, saved, drop),
                              name="cam_widgets-stderr-filter", daemon=True)
    reader.start()
    os.dup2(write_fd, 2)
    os.close(write_fd)
    try:
        yield
    finally:
        try:
            sys.stderr.flush()
        except (OSError, ValueError, AttributeError):
            pass
        os.dup2(saved, 2)  # the pipe's last writer closes: the reader sees end of file
        reader.join(timeout=10)
        os.close(saved)


def _query_devices(tensorflow: ModuleType) -> None:
    """Ask TensorFlow for its devices once, inside the filter: the first query writes
    "failed call to cuInit" on a machine without a GPU (else the first model does)."""
    global _DEVICES_QUERIED
    if not _DEVICES_QUERIED:
        _DEVICES_QUERIED = True
        with stderr_without(STARTUP_NOTICES):
            try:
                tensorflow.config.list_physical_devices()
            except Exception:  # noqa: BLE001 (a broken install says so on first use)
                pass


_DEVICES_QUERIED = False


def import_tensorflow() -> ModuleType:
    """`import tensorflow`, without its start-up notices if this is the first import."""
    with _ONE_AT_A_TIME:
        if "tensorflow" not in sys.modules:
            with stderr_without(STARTUP_NOTICES):
                import tensorflow  # noqa: F401
        _query_devices(sys.modules["tensorflow"])
    return sys.modules["tensorflow"]


class _QuietLoader(importlib.abc.Loader):
    """TensorFlow's own loader, run inside the filter."""

    def __init__(self, loader: importlib.abc.Loader) -> None:
        self._loader = loader

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        return self._loader.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        with _ONE_AT_A_TIME, stderr_without(STARTUP_NOTICES):
            self._loader.exec_module(module)
        _query_devices(module)

    def __getattr__(self, name: str) -> object:  # get_resource_reader, is_package, ...
        return getattr(self._loader, name)


class QuietFirstImport(importlib.abc.MetaPathFinder):
    """On `sys.meta_path` until TensorFlow is imported: that import, by any module, runs
    inside the filter (then this finder leaves)."""

    def find_spec(self, name: str, path: object = None,
                  target: ModuleType | None = None) -> importlib.machinery.ModuleSpec | None:
        if name != "tensorflow":
            return None
        if self in sys.meta_path:
            sys.meta_path.remove(self)
        spec = importlib.machinery.PathFinder.find_spec(name)
        if spec is not None and spec.loader is not None:
            spec.loader = _QuietLoader(spec.loader)
        return spec


def quiet_tensorflow_start() -> None:
    """What `import cam_widgets` does: TensorFlow loads later without its notices, or,
    loaded already, makes its first device query without the cuInit line."""
    if "tensorflow" in sys.modules:
        _query_devices(sys.modules["tensorflow"])
    elif not any(isinstance(finder, QuietFirstImport) for finder in sys.meta_path):
        sys.meta_path.insert(0, QuietFirstImport())


def keras_backend() -> str:
    """The backend Keras runs on, or will run on once imported, read without importing
    it: KERAS_BACKEND, else the `backend` of keras.json, else tensorflow."""
    if "keras" in sys.modules:
        return sys.modules["keras"].config.backend()
    if os.environ.get("KERAS_BACKEND"):
        return os.environ["KERAS_BACKEND"]
    home = os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
    try:
        with open(os.path.join(home, "keras.json"), encoding="utf-8") as file:
            return str(json.load(file).get("backend", "tensorflow"))
    except (OSError, ValueError):
        return "tensorflow"


def import_keras_quietly() -> None:
    """Load TensorFlow without its notices first when Keras will run on it (other
    backends do not need TensorFlow to be loaded at all)."""
    if keras_backend() == "tensorflow":
        import_tensorflow()
