"""Warnings raised while the viewer computes (pixels not rescaled, a softmax that hides
the logits, a resize), as one-line notices for the status line: not printed with the
package's own source line above the widget."""

from __future__ import annotations

import contextlib
import os
import threading
import warnings
from collections.abc import Iterator

_PACKAGE = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep
_COLLECTING = threading.Lock()  # one `caught_warnings` block at a time


@contextlib.contextmanager
def caught_warnings(wait: bool = True) -> Iterator[list[str]]:
    """Collect the warnings that cam_widgets raises in the block as one-line notices
    (the list is filled when the block ends), instead of printing them with our own
    source line: the viewer shows them in its status line. Warnings attributed to other
    code (the user's `preprocess`, a library) go on to Python's filters as usual.

    Python's warning state is process-wide, so one block collects at a time (blocks of
    other threads wait; with `wait=False` the block runs without collecting, and the
    warnings it raises go to the block that is collecting). A warning another thread
    raises while a block collects is handled by that block."""
    notices: list[str] = []
    if not _COLLECTING.acquire(blocking=wait):
        yield notices
        return
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.filterwarnings("always", module="cam_widgets")
            yield notices
    finally:
        _COLLECTING.release()
    for w in caught:
        if os.path.abspath(w.filename).startswith(_PACKAGE):
            notices.append(" ".join(str(w.message).split()))
        else:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno,
                                   source=w.source)
